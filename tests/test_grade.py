"""Grading a folder of homework: the right verdict for every planted submission, and nothing outside touched.

The planted submissions (tests/planted_submissions.py) are built from the committed
solution and exercise notebooks: the reference solutions, each of check_maxsim's planted
mistakes, an unanswered notebook, ones that crash, abort, loop forever, delete files
around them, edit their check cell to always pass, have a syntax error, print megabytes
or call sys.exit. They are graded once (the module fixture, about a minute on 2 free
cores); the tests then read the rows.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

import planted_submissions
import pytest
import torch

import lateint
from lateint import checks
from lateint.grade import Limits, grade, summary
from lateint.grade.__main__ import main as grade_cli
from lateint.grade.codec import Opaque, decode, encode
from lateint.grade.exercises import (
    Task,
    default_exercises_folder,
    find_submissions,
    load_exercises,
)
from lateint.grade.judge import hidden_inputs, judge_task, suite
from lateint.grade.sandbox import isolation, run_notebook
from lateint.maxsim import explain, maxsim

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
GRADER = Path(lateint.__file__).resolve().parent  # the grader's own files: the whole lateint package
LIMITS = Limits(seconds=40, memory_mb=3072)  # the looping notebook costs 40 s; the others need well under that


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def digest(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def undo_vandal(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    """Should the sandbox ever fail, put back what the vandal wrecked (only that: not edits made meanwhile)."""
    for name, data in before.items():
        if after.get(name, b"wrecked") == b"wrecked":
            (GRADER / name).parent.mkdir(parents=True, exist_ok=True)
            (GRADER / name).write_bytes(data)
    for name in set(after) - set(before):
        if after[name] == b"planted":
            (GRADER / name).unlink()


@pytest.fixture(scope="module")
def graded():
    """Grade the planted folder once: (rows, planted, folder, CSV path, files before/after)."""
    root = Path(tempfile.mkdtemp(prefix="lateint-planted-"))
    os.chmod(root, 0o755)  # readable by the sandbox's user, so only write protection stops the vandal
    submissions, out = root / "submissions", root / "grades.csv"
    # Without a separate user for the sandbox (not root), a notebook can change what the grader's user
    # can: the vandal then aims only at its own folder and the CSV (written at the end, so still safe).
    planted = planted_submissions.build(submissions, out, separate_user=isolation().uid is not None)
    for path in [submissions, *submissions.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    grader_before, submissions_before = snapshot(GRADER), snapshot(submissions)
    try:
        rows = grade(submissions, out, limits=LIMITS, jobs=2, progress=False)
    finally:
        grader_after = snapshot(GRADER)
        undo_vandal(grader_before, grader_after)
    yield {
        "rows": rows,
        "planted": planted,
        "submissions": submissions,
        "out": out,
        "grader": (digest(grader_before), digest(grader_after)),
        "submitted": (digest(submissions_before), digest(snapshot(submissions))),
    }
    shutil.rmtree(root)


def row(rows, student, exercise, task):
    found = [r for r in rows if (r.student, r.exercise, r.task) == (student, exercise, task)]
    assert len(found) == 1, f"expected one row for {student}/{exercise}/{task}, got {found}"
    return found[0]


# ----------------------------------------------------------------- the planted folder


def test_every_task_gets_its_expected_verdict(graded):
    wrong = []
    for p in graded["planted"]:
        for task, (verdict, says) in p.expected.items():
            r = row(graded["rows"], p.student, p.exercise, task)
            if r.verdict != verdict or not re.search(says, r.message, re.DOTALL):
                wrong.append(
                    f"{p.student}/{p.exercise}/{task}: expected {verdict} /{says}/, got {r.verdict}: {r.message}"
                )
    assert not wrong, "\n".join(wrong)


def test_every_notebook_gets_its_expected_row(graded):
    wrong = []
    for p in graded["planted"]:
        r = row(graded["rows"], p.student, p.exercise, "notebook")
        assert r.file == str(graded["submissions"] / p.path)
        if p.notebook is not None and (r.verdict != p.notebook[0] or not re.search(p.notebook[1], r.message)):
            wrong.append(f"{p.student}/{p.exercise}: expected {p.notebook}, got {r.verdict}: {r.message}")
    assert not wrong, "\n".join(wrong)


def test_every_mistake_of_check_maxsim_is_planted_and_named(graded):
    diagnoses = {d for case in checks.suite_of(checks.check_maxsim).cases for d in case.mistakes}
    named = {row(graded["rows"], f"mistake{i}", "02_maxsim_by_hand", "maxsim_pair").message for i in range(1, 6)}
    assert all(any(d in message for message in named) for d in diagnoses), (diagnoses, named)


def test_nothing_outside_the_sandbox_changed(graded):
    before, after = graded["grader"]
    assert after == before, "the grader's files changed: " + str(sorted(set(before.items()) ^ set(after.items()))[:5])
    before, after = graded["submitted"]
    assert after == before, "a submission changed or a file appeared in the submissions folder"


def test_the_csv_holds_the_rows_and_a_total_per_student(graded):
    with open(graded["out"], newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert [tuple(r.values()) for r in table] == [
        (r.student, r.exercise, r.task, r.verdict, r.message, r.file) for r in graded["rows"]
    ]
    totals = {r["student"]: r for r in table if r["task"] == "total"}
    assert set(totals) == {p.student for p in graded["planted"]}
    assert totals["alice"]["verdict"] == "5/5" and totals["alice"]["message"] == ""
    assert totals["bob"]["verdict"] == "0/5" and "no submission for 02_maxsim_by_hand" in totals["bob"]["message"]
    assert totals["syntax"]["verdict"] == "2/5"  # maxsim_batched and best_matches pass
    text = summary(graded["rows"])
    assert re.search(r"^alice\s+2/2\s+3/3\s+5/5$", text, re.MULTILINE), text
    assert "looper/02_maxsim_by_hand.ipynb: timed out" in text


# ----------------------------------------------------------------- the command line, without running notebooks


def test_command_line_reports_unreadable_and_unidentified_notebooks(tmp_path, capsys):
    (tmp_path / "subs" / "dan").mkdir(parents=True)
    (tmp_path / "subs" / "dan" / "homework.ipynb").write_text(json.dumps({"cells": [], "metadata": {}}))
    (tmp_path / "subs" / "erin_02_maxsim_by_hand.ipynb").write_text("{ not json")
    out = tmp_path / "grades.csv"
    assert grade_cli([str(tmp_path / "subs"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "unidentified" in printed and "unreadable" in printed and f"wrote {out}" in printed
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["student"], r["task"], r["verdict"]) for r in rows] == [
        ("dan", "notebook", "unidentified"),
        ("erin_02_maxsim_by_hand", "notebook", "unreadable"),
        ("dan", "total", "0/0"),
        ("erin_02_maxsim_by_hand", "total", "0/0"),
    ]


def test_command_line_errors_are_plain(tmp_path, capsys):
    assert grade_cli([str(tmp_path / "missing"), "--out", str(tmp_path / "g.csv")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert grade_cli([str(tmp_path / "empty"), "--out", str(tmp_path / "g.csv")]) == 2
    assert "no .ipynb files" in capsys.readouterr().err
    assert not (tmp_path / "g.csv").exists()
    with pytest.raises(ValueError, match="seconds must be > 0"):
        Limits(seconds=0)


# ----------------------------------------------------------------- exercises and submissions


def test_exercise_metadata_lists_exactly_the_check_cells():
    """Each exercise (and solution) notebook's metadata names the tasks its check cells grade, in order."""
    for kind in ("exercises", "solutions"):
        for path in sorted((NOTEBOOKS / kind).glob("*.ipynb")):
            nb = json.loads(path.read_text(encoding="utf-8"))
            calls = [
                {"function": fn, "check": check}
                for cell in nb["cells"]
                for check, fn in re.findall(r"checks\.(check_\w+)\((\w+)\)", "".join(cell["source"]))
            ]
            assert nb["metadata"]["lateint"] == {"exercise": path.stem, "tasks": calls}, path
    assert set(load_exercises()) == {p.stem for p in default_exercises_folder().glob("*.ipynb")}


def test_bad_exercise_metadata_is_refused(tmp_path):
    nb = json.loads((NOTEBOOKS / "exercises" / "00_setup.ipynb").read_text(encoding="utf-8"))
    nb["metadata"]["lateint"]["tasks"][0]["check"] = "check_nothing"
    (tmp_path / "00_setup.ipynb").write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="'check_nothing', which is not in lateint.checks"):
        load_exercises(tmp_path)
    del nb["metadata"]["lateint"]
    (tmp_path / "00_setup.ipynb").write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="no notebook metadata 'lateint'"):
        load_exercises(tmp_path)
    with pytest.raises(FileNotFoundError, match="no exercise notebooks"):
        load_exercises(tmp_path / "nowhere")


def test_submissions_are_recognised_by_metadata_or_file_name(tmp_path):
    exercises = load_exercises()
    nb = json.loads((NOTEBOOKS / "exercises" / "02_maxsim_by_hand.ipynb").read_text(encoding="utf-8"))
    plain = dict(nb, metadata={})  # metadata lost: only the file name tells
    files = {
        "frank/whatever.ipynb": nb,  # a sub-folder per student; metadata names the exercise
        "frank/.ipynb_checkpoints/whatever-checkpoint.ipynb": nb,  # skipped
        "Grace_02_maxsim_by_hand.ipynb": plain,
        "Copy of 02-maxsim-by-hand (1).ipynb": plain,
        "heidi.ipynb": plain,
    }
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(json.dumps(content))
    found = {(s.student, s.exercise.name if s.exercise else None) for s in find_submissions(tmp_path, exercises)}
    assert found == {
        ("frank", "02_maxsim_by_hand"),
        ("Grace", "02_maxsim_by_hand"),
        ("Copy of 02-maxsim-by-hand (1)", "02_maxsim_by_hand"),
        ("heidi", None),
    }


# ----------------------------------------------------------------- judging plain data


def test_suite_of_runs_a_check_apart_from_the_function(capsys):
    suite = checks.suite_of(checks.check_maxsim)
    assert suite.check == "check_maxsim" and len(suite.cases) == 7
    suite.run(maxsim)
    assert capsys.readouterr().out.startswith("✓ check_maxsim: correct on all 7 hidden cases")
    with pytest.raises(checks.CheckFailed, match="wrong axis"):
        suite.run(lambda q, d: (q @ d.T).max(dim=0).values.sum())
    with pytest.raises(TypeError, match="not one of the checks"):
        checks.suite_of(print)


def same(a, b) -> bool:
    if isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(b, dict):
        return isinstance(a, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in b)
    return a == b


RUN_THE_MODEL = {"check_embed_pooled", "check_needle_curve", "check_encode_queries_batched"}  # arguments: text


def test_every_exercises_hidden_inputs_reach_the_sandbox_intact():
    """The arguments of every check's hidden cases survive the trip as plain data (dtypes, dicts of tensors, runs).

    The checks whose cases run the model (slow to build) are left out: their arguments are texts.
    """
    for exercise in load_exercises().values():
        light = dataclasses.replace(exercise, tasks=tuple(t for t in exercise.tasks if t.check not in RUN_THE_MODEL))
        sent = json.loads(hidden_inputs(light))
        assert [(t["function"], t["check"]) for t in sent] == [(t.function, t.check) for t in light.tasks]
        for task in sent:
            cases = suite(task["check"]).cases
            assert len(task["cases"]) == len(cases) > 0
            for line, case in zip(task["cases"], cases):
                assert same(decode(line), case.args), (task["check"], case.name)


def events_for(check, fn):
    """The events a sandbox would send for ``fn`` on ``check``'s hidden cases."""
    events = [{"task": check, "defined": True}]
    for k, case in enumerate(checks.suite_of(getattr(checks, check)).cases):
        try:
            events.append({"task": check, "case": k, "answer": encode(fn(*case.args))})
        except Exception as e:  # noqa: BLE001 (what the sandbox does with any error)
            events.append({"task": check, "case": k, "raised": [type(e).__name__, str(e), "in fn, line 1"]})
    return events


def test_judge_replays_answers_and_errors():
    task = Task("best_matches", "check_best_matches")
    stopped = ("timed out", "timed out after 9 s")
    reference = lambda q, d: [(m.doc_position, m.similarity) for m in explain(q, d)]
    verdict = judge_task(task, events_for(task.check, reference), stopped)
    assert verdict.verdict == "passed" and verdict.message.startswith("✓ check_best_matches")
    verdict = judge_task(task, events_for(task.check, lambda q, d: 1 / 0), stopped)
    assert verdict.verdict == "crashed"
    assert "raised ZeroDivisionError: division by zero" in verdict.message and "raised in fn, line 1" in verdict.message
    verdict = judge_task(task, events_for(task.check, lambda q, d: None), stopped)
    assert verdict.verdict == "unanswered" and "returned None" in verdict.message
    cut = events_for(task.check, reference)[:2]  # the notebook stopped after the first case
    assert judge_task(task, cut, stopped).message == "timed out after 9 s, while best_matches ran on hidden case 2."
    assert judge_task(task, [], stopped).verdict == "timed out"
    assert judge_task(task, [{"task": task.check, "defined": False}], stopped).verdict == "unanswered"


def test_judge_is_not_fooled_by_forged_or_odd_answers():
    task = Task("maxsim_pair", "check_maxsim")
    events = events_for(task.check, maxsim)
    events[1]["answer"] = "{not an encoded value"
    verdict = judge_task(task, events, ("crashed", "crashed"))
    assert verdict.verdict == "failed" and "expected a number, got a malformed" in verdict.message
    events = events_for(task.check, lambda q, d: {"a": 1})
    assert "expected a number, got a dict" in judge_task(task, events, ("crashed", "crashed")).message
    forged = [{"task": task.check, "defined": True}, {"task": task.check, "case": 0, "raised": 5}]
    assert judge_task(task, forged, ("crashed", "crashed")).message.startswith("check_maxsim: your function raised 5")


def test_codec_round_trips_plain_data_only():
    value = [1, 2.5, "x", None, ..., True, (1, "a"), {"q": {"d": 0.5}, 3: 4}, torch.float16,
             torch.arange(6.0).reshape(2, 3), torch.zeros(0, 4), torch.ones(2, dtype=torch.bfloat16)]  # fmt: skip
    back = decode(encode(value))
    assert back[:9] == value[:9] and type(back[6]) is tuple and back[8] is torch.float16
    for got, sent in zip(back[9:], value[9:]):
        assert got.dtype == sent.dtype and torch.equal(got, sent)
    odd = decode(encode(io.StringIO("x")))
    assert isinstance(odd, Opaque) and type(odd).__name__ == "StringIO"
    for bad in ("", "[]", '{"value": {"pickle": "gASV"}, "tensors": ""}', '{"value": 1, "tensors": "!!"}'):
        with pytest.raises(ValueError, match="not an encoded value"):
            decode(bad)


def test_the_sandbox_is_offline_unprivileged_and_alone():
    """A notebook's function reports what it can reach; the grader reads its answer back as plain data.

    "Offline" is checked against a server this test opens on the grader's own loopback:
    a process outside the sandbox reaches it, the notebook must not.
    """
    how = isolation()
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=3).close()  # reachable from here
        probe = (
            "import os, socket\n"
            "def probe():\n"
            "    try:\n"
            f"        socket.create_connection(('127.0.0.1', {port}), timeout=3).close()\n"
            "        net = 'connected'\n"
            "    except OSError as e:\n"
            "        net = type(e).__name__\n"
            "    pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
            "    return {'net': net, 'uid': os.getuid(), 'pids': len(pids), 'cwd': os.listdir('.')}\n"
        )
        notebook = {"cells": [{"cell_type": "code", "source": probe, "metadata": {}, "outputs": []}], "metadata": {}}
        inputs = json.dumps([{"check": "probe", "function": "probe", "cases": [encode(())]}])
        outcome = run_notebook(json.dumps(notebook).encode(), inputs, Limits(seconds=60), how)
    assert outcome.finished, outcome.output
    seen = decode(next(e["answer"] for e in outcome.events if e.get("task") == "probe" and "answer" in e))
    assert [n for n in seen["cwd"] if not n.startswith(".")] == ["submission.ipynb"]  # its own copy, alone
    if how.description.startswith("no network"):
        assert seen["net"] != "connected" and seen["pids"] <= 3, seen  # its init, itself, and nothing else
    if how.uid is not None:
        assert seen["uid"] == how.uid != os.geteuid()


def test_a_notebook_the_grader_cannot_run_is_recorded_and_grading_goes_on(tmp_path, monkeypatch):
    import lateint.grade as grading

    def no_room(notebook, *args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(grading, "run_notebook", no_room)
    for student in ("ann", "ben"):
        (tmp_path / student).mkdir()
        shutil.copy(NOTEBOOKS / "solutions" / "00_setup.ipynb", tmp_path / student / "00_setup.ipynb")
    rows = grade(tmp_path, progress=False)
    assert [(r.student, r.task, r.verdict) for r in rows] == [
        *[("ann", task, "crashed") for task in ("notebook", "cosine_matrix", "ndcg_at_10")],
        *[("ben", task, "crashed") for task in ("notebook", "cosine_matrix", "ndcg_at_10")],
        ("ann", "total", "0/2"),
        ("ben", "total", "0/2"),
    ]
    assert rows[0].message == "the grader could not run this notebook: OSError: [Errno 28] No space left on device"
