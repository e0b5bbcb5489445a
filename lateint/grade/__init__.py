"""Grade a class's homework in one command, safely.

.. code-block:: bash

    python -m lateint.grade SUBMISSIONS/ --out grades.csv

or, from Python, ``rows = grade("SUBMISSIONS/", "grades.csv"); print(summary(rows))``.

For every submitted exercise notebook (``*.ipynb`` anywhere under SUBMISSIONS):

1. recognise the exercise (:mod:`.exercises`) and the student (the sub-folder, or the file name);
2. run it in a sandbox (:mod:`.sandbox`, :mod:`.jail`, :mod:`.child`): a fresh process on a
   private copy, offline, with limits on time, memory, processes and bytes written, as a user
   of its own where possible, seeing neither the other submissions nor the solutions; as
   its cells run, the sandbox calls each task's function on the check's hidden inputs
   and sends back what it returned, as plain data (:mod:`.codec`);
3. judge those answers here, in the grader's process, with the same checks the notebooks
   call (:mod:`.judge`), so editing or deleting a check cell changes nothing;
4. append the notebook's rows to the ledger the moment they are decided (:mod:`.ledger`: a
   rerun resumes from it), then write one CSV row per student and task, a row per notebook
   (ran / timed out / crashed, and why) and a total per student (:mod:`.report`), atomically.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm.auto import tqdm

from .exercises import Submission, default_exercises_folder, find_submissions, load_exercises
from .judge import hidden_inputs, judge_notebook, notebook_verdict
from .ledger import Ledger, key, ledger_path
from .report import NOTEBOOK, Row, summary, totals, write_csv
from .sandbox import Limits, Outcome, isolation, run_notebook

__all__ = ["Limits", "Row", "grade", "isolation", "ledger_path", "summary"]


def grade(
    submissions: str | Path,
    out: str | Path | None = None,
    *,
    exercises: str | Path | None = None,
    limits: Limits | None = None,
    jobs: int = 1,
    logs: str | Path | None = None,
    progress: bool = True,
    fresh: bool = False,
    regrade: Sequence[str] = (),
) -> list[Row]:
    """Grade every notebook under ``submissions``; return the rows and, with ``out``, write them as CSV.

    Args:
        submissions: folder of submitted notebooks (one sub-folder per student, or
            student names in the file names).
        out: where to write the CSV (atomically, once everything is graded). Each notebook's
            rows are also appended to ``<out>.ledger.jsonl`` as soon as they are decided, and
            a rerun with the same ``out`` grades only what the ledger does not have yet.
        exercises: folder of the instructor's exercise notebooks, whose metadata lists
            each exercise's tasks (default: this repository's ``notebooks/exercises``).
        limits: per-notebook limits (default: ``Limits()``: 120 s, 4096 MiB, 128 processes,
            512 MiB written, 64 MiB sent back).
        jobs: notebooks run at the same time.
        logs: folder for what each notebook printed (cut to ``limits.output_kb``), one
            ``<student>/<file>.log`` each; none kept without it.
        progress: show a progress bar over the submissions.
        fresh: ignore the ledger and grade everything again.
        regrade: students whose notebooks are graded again (the others' come from the ledger).
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    limits = limits or Limits()
    known = load_exercises(exercises)
    folder = Path(submissions)
    found = find_submissions(folder, known)
    if not found:
        raise FileNotFoundError(
            f"no .ipynb files under {submissions}: pass the folder the notebooks were collected in."
        )
    how = isolation()
    ledger = None
    if out is not None:
        settings = {"limits": limits.__dict__, "exercises": {n: [list(t.__dict__.values()) for t in e.tasks]
                                                             for n, e in sorted(known.items())}}  # fmt: skip
        ledger = Ledger(ledger_path(out), json.loads(json.dumps(settings)), fresh=fresh, forget=regrade)
    if logs is not None:
        Path(logs).mkdir(parents=True, exist_ok=True)
    hide = _private_paths(folder, out, logs, exercises)
    inputs = {s.exercise.name: hidden_inputs(s.exercise) for s in found if s.exercise}
    rows: dict[int, list[Row]] = {}
    with (
        ThreadPoolExecutor(jobs) as pool,
        tqdm(total=len(found), desc="grading", unit="notebook", disable=not progress) as bar,
    ):
        running = {}
        for i, sub in enumerate(found):
            if sub.exercise is None:
                verdict = sub.problem.split(":")[0] if sub.problem.startswith("refused") else "unidentified"
                verdict = "unreadable" if sub.problem.startswith("not a readable") else verdict
                rows[i] = [Row(sub.student, "", NOTEBOOK, verdict, sub.problem, str(sub.path))]
                bar.update()
            elif ledger is not None and key(sub, folder) in ledger.graded:
                rows[i] = ledger.graded[key(sub, folder)]
                bar.update()
            else:
                job = pool.submit(run_notebook, sub.notebook, inputs[sub.exercise.name], limits, how, hide)
                running[job] = i
        for future in as_completed(running):
            i = running[future]
            try:
                outcome = future.result()
            except Exception as e:  # noqa: BLE001 (e.g. no room for its temporary folder: the others still run)
                rows[i] = _crashed(found[i], f"the grader could not run this notebook: {type(e).__name__}: {e}")
            else:
                rows[i] = _rows(found[i], outcome, limits)
                if logs is not None:
                    _write_log(Path(logs), found[i], outcome)
            if ledger is not None:
                ledger.add(key(found[i], folder), rows[i])
            bar.set_postfix_str(rows[i][0].student, refresh=False)
            bar.update()
    graded = [row for i in sorted(rows) for row in rows[i]]
    graded += totals(graded)
    if out is not None:
        write_csv(graded, out)
    return graded


def _private_paths(
    submissions: Path, out: str | Path | None, logs: str | Path | None, exercises: str | Path | None
) -> tuple[str, ...]:
    """What a notebook must not see: the submissions, the solutions, the grades and logs (where they exist)."""
    paths = [submissions, default_exercises_folder().parent / "solutions"]
    if exercises is not None:
        paths.append(Path(exercises).parent / "solutions")
    if out is not None:
        paths += [Path(out), ledger_path(out)]
    if logs is not None:
        paths.append(Path(logs))
    paths = [os.path.realpath(p) for p in paths if os.path.lexists(p)]  # a link is hidden where it leads
    needed = [os.path.realpath(sys.prefix), os.path.realpath(Path(__file__).parents[1])]
    for path in paths:
        if any(os.path.commonpath([path, n]) == path for n in needed):
            raise ValueError(
                f"{path} holds the grader itself ({sys.prefix}), and the notebooks must not see it: "
                "collect the submissions (and write the grades) in a folder of their own."
            )
    return tuple(dict.fromkeys(paths))


def _rows(sub: Submission, outcome: Outcome, limits: Limits) -> list[Row]:
    try:
        return _judged(sub, outcome, limits)
    except Exception as e:  # noqa: BLE001 (whatever a submission sent back, the others still get graded)
        return _crashed(sub, f"the grader could not judge what this notebook sent back: {type(e).__name__}: {e}")


def _crashed(sub: Submission, message: str) -> list[Row]:
    """A 'crashed' row for the notebook and each of its tasks, when it could not be run or judged."""
    tasks = [NOTEBOOK] + [t.function for t in sub.exercise.tasks]
    return [Row(sub.student, sub.exercise.name, task, "crashed", message[:300], str(sub.path)) for task in tasks]


def _judged(sub: Submission, outcome: Outcome, limits: Limits) -> list[Row]:
    cells = json.loads(sub.notebook).get("cells", [])
    verdict, message = notebook_verdict(outcome, limits, cells)
    name, path = sub.exercise.name, str(sub.path)
    rows = [Row(sub.student, name, NOTEBOOK, verdict, message, path)]
    for v in judge_notebook(sub.exercise, outcome, limits, cells):
        rows.append(Row(sub.student, name, v.task.function, v.verdict, v.message, path))
    return rows


def _write_log(folder: Path, sub: Submission, outcome: Outcome) -> None:
    path = folder / _safe_name(sub.student) / f"{_safe_name(sub.path.stem)}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(outcome.output, encoding="utf-8", errors="backslashreplace")


def _safe_name(name: str) -> str:
    """A student's or file's name as one safe path component."""
    return re.sub(r"[^\w.\-]+", "_", name).strip(".") or "_"
