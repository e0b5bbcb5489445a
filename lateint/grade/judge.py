"""Verdicts, decided in the grader's own process from the plain data a sandbox sent back.

For each task the check's hidden cases are built here (:func:`lateint.checks.suite_of`)
and the check judges the answers exactly as it would in the notebook
(:meth:`lateint.checks.Suite.run`), with a stand-in function that replays what the
student's function returned on each case, or re-raises what it raised. So the verdict
and the plain-words message are the check's own, and nothing the submission did in its
sandbox (edit its check cell, replace ``lateint.checks``) has any say in them.

A task's verdict is one of

* ``passed``: the check's ✓ line;
* ``failed``: a wrong answer, with the check's diagnosis;
* ``unanswered``: no such function, or still the ``...`` placeholder (returns None);
* ``crashed``: the function raised on a hidden input, or the notebook's process died;
* ``timed out``: the notebook ran out of time before this task was judged.
"""

from __future__ import annotations

import functools
import io
import re
import signal
from contextlib import redirect_stdout
from dataclasses import dataclass

from lateint import checks

from .codec import decode, encode, opaque
from .exercises import Exercise, Task
from .sandbox import Limits, Outcome

__all__ = ["TaskVerdict", "hidden_inputs", "judge_notebook", "notebook_verdict"]


@dataclass(frozen=True)
class TaskVerdict:
    task: Task
    verdict: str
    message: str


@functools.cache
def suite(check: str) -> checks.Suite:
    """A check's hidden cases, built once per grading run (the encoder checks load the default encoder)."""
    return checks.suite_of(getattr(checks, check))


def hidden_inputs(exercise: Exercise) -> str:
    """The JSON the sandbox gets: per task, the function's name and each case's arguments as plain data."""
    import json

    return json.dumps(
        [
            {"check": t.check, "function": t.function, "cases": [encode(c.args) for c in suite(t.check).cases]}
            for t in exercise.tasks
        ]
    )


class _Replayed(Exception):
    """Base of the stand-ins for what the student's function raised in the sandbox (named like the original)."""


class _NoAnswer(BaseException):  # not an Exception: the check must not catch it
    """The sandbox sent no answer for this case: the notebook stopped first."""


def _stand_in(kind: str, message: str) -> _Replayed:
    return type(str(kind)[:80] or "Exception", (_Replayed,), {})(message)


def judge_task(task: Task, events: list[dict], stopped: tuple[str, str], cells: list[dict] = ()) -> TaskVerdict:
    """Judge one task from the sandbox's events.

    ``stopped`` is (verdict, message) for a run that did not finish; ``cells`` are the
    submission's cells, to say why a function is missing (its cell raised, say).
    """
    mine = [e for e in events if e.get("task") == task.check]
    header = next((e for e in mine if "defined" in e), None)
    if header is None:
        return TaskVerdict(task, stopped[0], f"{stopped[1]}, before {task.function} could be checked.")
    if not header["defined"]:
        return TaskVerdict(task, "unanswered", _missing(task.function, events, cells))
    answers = {e["case"]: e for e in mine if isinstance(e.get("case"), int)}
    returned = []
    called = iter(range(len(suite(task.check).cases)))

    def replay(*_args):
        k = next(called)
        answer = answers.get(k)
        if answer is None:
            raise _NoAnswer(k)
        if "raised" in answer:
            raised = answer["raised"] if isinstance(answer["raised"], list) else [answer["raised"]]
            kind, message, where = [str(x) for x in raised[:3]] + [""] * (3 - len(raised[:3]))
            error = _stand_in(kind, message)
            error.where = where
            raise error
        try:
            value = decode(answer.get("answer", ""))
        except ValueError:
            value = opaque("malformed answer", "<an answer the grader could not read>")
        returned.append(value)
        return value

    printed = io.StringIO()
    try:
        with redirect_stdout(printed):
            suite(task.check).run(replay)
    except _NoAnswer as missing:
        return TaskVerdict(
            task, stopped[0], f"{stopped[1]}, while {task.function} ran on hidden case {missing.args[0] + 1}."
        )
    except checks.CheckFailed as failure:
        message = str(failure)
        cause = failure.__cause__
        if isinstance(cause, _Replayed):
            where = f"It was raised {cause.where} of the notebook." if cause.where else ""
            return TaskVerdict(task, "crashed", message.replace("The traceback above shows the line.", where).strip())
        if len(returned) == 1 and (returned[0] is None or returned[0] is Ellipsis):
            return TaskVerdict(task, "unanswered", message)
        return TaskVerdict(task, "failed", message)
    return TaskVerdict(task, "passed", printed.getvalue().strip())


def _missing(function: str, events: list[dict], cells: list[dict]) -> str:
    """Why a function is not in the notebook: its defining cell raised, or no cell defines it."""
    defining = [
        i for i in range(len(cells)) if re.search(rf"^def {re.escape(function)}\(", _source(cells, i), re.MULTILINE)
    ]
    errors = {e["cell_error"]: e.get("error", "?") for e in events if "cell_error" in e}
    for i in defining:
        if i in errors:
            return f"no function named {function}: cell {i}, which defines it, raised {errors[i]}"
    if defining:
        return f"no function named {function} after the notebook ran (cell {defining[0]} defines it; was it deleted?)."
    return f"no function named {function} in the notebook (no cell defines it)."


def _stopped(outcome: Outcome, limits: Limits) -> tuple[str, str]:
    """(verdict, message) for a notebook that did not finish: where it was, and why it stopped."""
    where = f" while running cell {outcome.at_cell}" if outcome.at_cell is not None else ""
    if outcome.timed_out:
        return "timed out", f"timed out after {limits.seconds:g} s{where}"
    if any(e.get("overflow") for e in outcome.events):
        return "crashed", "crashed: sent back more than the grader reads"
    return "crashed", f"crashed: {_death(outcome, limits)}{where}"


def _death(outcome: Outcome, limits: Limits) -> str:
    """Why the child's process ended without finishing, in words."""
    code = outcome.returncode
    if code is not None and 128 < code < 128 + 65:  # how the sandbox's PID 1 passes on a signal
        code = 128 - code
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else f"signal {-code}"
        hint = {
            "SIGKILL": " (out of memory?)",
            "SIGXCPU": " (CPU time limit)",
            "SIGSEGV": " (segmentation fault)",
            "SIGABRT": " (aborted)",
        }.get(name, "")
        return f"killed by {name}{hint}"
    last = [line for line in outcome.output.splitlines() if line.strip()][-1:]
    error = re.match(r"(\w+(Error|Exception|Exit|Interrupt)\b.*)", last[0]) if last else None
    if error:
        return error.group(1)[:200]
    if code == 0:
        return "the notebook ended its own process (os._exit?) before the grader had its answers"
    return f"the process exited with code {code}"


def judge_notebook(exercise: Exercise, outcome: Outcome, limits: Limits, cells: list[dict]) -> list[TaskVerdict]:
    """One verdict per task of the exercise, in the exercise's order (``cells``: the submission's cells)."""
    stopped = ("crashed", "crashed") if outcome.finished else _stopped(outcome, limits)
    return [judge_task(task, outcome.events, stopped, cells) for task in exercise.tasks]


def notebook_verdict(outcome: Outcome, limits: Limits, cells: list[dict]) -> tuple[str, str]:
    """(verdict, message) for the notebook as a whole: ran / ran with errors / timed out / crashed, with notes.

    The notes list the cells that raised (other than a failing check, which its task's row
    reports), output that was cut, and the run time. ``cells`` are the submission's cells,
    for naming the function a raising cell defines.
    """
    notes = []
    errors = [e for e in outcome.events if "cell_error" in e and not str(e.get("error", "")).startswith("CheckFailed")]
    for e in errors[:5]:
        defines = re.findall(r"^def (\w+)\(", _source(cells, e["cell_error"]), re.MULTILINE)
        what = f" (defines {', '.join(defines)})" if defines else ""
        notes.append(f"cell {e['cell_error']}{what} raised {e.get('error', '?')}")
    if len(errors) > 5:
        notes.append(f"{len(errors) - 5} more cells raised")
    if outcome.printed > limits.output_kb * 1024:
        notes.append(
            f"printed {outcome.printed / 1e6:.1f} MB (the log keeps the first and last {limits.output_kb // 2} kB)"
        )
    notes.append(f"{outcome.seconds:.0f} s")
    if outcome.finished:
        verdict = "ran with errors" if errors else "ran"
    else:
        verdict, message = _stopped(outcome, limits)
        notes.insert(0, message)
    return verdict, "; ".join(notes)


def _source(cells: list[dict], index: int) -> str:
    try:
        source = cells[index].get("source", "")
    except (IndexError, AttributeError, TypeError):
        return ""
    return "".join(source) if isinstance(source, list) else str(source)
