"""The grades: rows for the CSV, a total per student, and the short summary printed at the end."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from lateint.display.tables import format_table
from lateint.files import write_atomically

__all__ = ["Row", "clean", "spreadsheet_safe", "summary", "totals", "write_csv"]

NOTEBOOK = "notebook"  # the task name of a submission's own row (ran / timed out / crashed ...)
TOTAL = "total"  # the task name of a student's total row
FLAGGED = ("timed out", "crashed", "unidentified", "unreadable", "refused")  # notebook verdicts the summary lists
# control characters (terminal escapes among them) but newline and tab, bidirectional overrides, and the
# stand-ins Python uses for bytes of a file name that were not UTF-8 (surrogates)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a cell starting with these as a formula


def clean(text: str) -> str:
    """``text`` safe to print in a terminal and to store: each unsafe character written as ``\\xNN`` or ``\\uNNNN``.

    A byte that was not UTF-8 in a file name (Python's ``\\udcNN`` stand-in) becomes ``\\xNN``, the byte itself.
    """

    def escape(match: re.Match) -> str:
        code = ord(match.group())
        if 0xDC80 <= code <= 0xDCFF:
            return f"\\x{code - 0xDC00:02x}"
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE.sub(escape, str(text))


@dataclass(frozen=True)
class Row:
    """One line of grades.csv.

    ``task`` is the function a task asks for (e.g. ``maxsim_pair``), ``notebook`` for the
    row about the submission as a whole, or ``total`` for a student's total, whose
    ``verdict`` is "passed/tasks".
    """

    student: str
    exercise: str
    task: str
    verdict: str
    message: str
    file: str

    def __post_init__(self):
        for f in fields(self):  # whatever a submission's name or messages hold, a row is safe to print
            object.__setattr__(self, f.name, clean(getattr(self, f.name)))


def totals(rows: Sequence[Row]) -> list[Row]:
    """One total row per student: tasks passed out of the tasks of every exercise anyone submitted.

    With several submissions of one exercise by one student, the best one counts. A
    missing exercise counts its tasks as not passed, and the message names it.
    """
    tasks: dict[tuple[str, str, str], list[Row]] = defaultdict(list)  # (student, exercise, file) -> task rows
    for row in rows:
        if row.task not in (NOTEBOOK, TOTAL) and row.exercise:
            tasks[row.student, row.exercise, row.file].append(row)
    size = {exercise: len(r) for (_, exercise, _), r in tasks.items()}
    best: dict[str, dict[str, int]] = defaultdict(dict)
    for (student, exercise, _), task_rows in tasks.items():
        passed = sum(r.verdict == "passed" for r in task_rows)
        best[student][exercise] = max(best[student].get(exercise, 0), passed)
    out = []
    for student in sorted({row.student for row in rows}):
        done = best.get(student, {})
        missing = [e for e in sorted(size) if e not in done]
        message = f"no submission for {', '.join(missing)}" if missing else ""
        out.append(Row(student, "", TOTAL, f"{sum(done.values())}/{sum(size.values())}", message, ""))
    return out


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula (``=``, ``+``, ``-``, ``@``) gets a ``'`` first."""
    return "'" + cell if cell.startswith(_FORMULA) else cell


def write_csv(rows: Sequence[Row], path: str | Path) -> Path:
    """Write the rows to ``path`` atomically: a reader sees the old file or the whole new one, never a part.

    A cell that a spreadsheet would read as a formula is written with a ``'`` first (:func:`spreadsheet_safe`).
    """
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow([f.name for f in fields(Row)])
            writer.writerows([spreadsheet_safe(cell) for cell in astuple(row)] for row in rows)

    return write_atomically(path, write, mode=0o644, durable=True)


def summary(rows: Sequence[Row]) -> str:
    """A student x exercise table of tasks passed, the verdict counts, and the notebooks to look at by hand."""
    per_file: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for r in rows:
        if r.task not in (NOTEBOOK, TOTAL) and r.exercise:
            per_file[r.student, r.exercise, r.file].append(r.verdict)
    best: dict[tuple[str, str], tuple[int, int]] = {}
    for (student, exercise, _), verdicts in per_file.items():
        score = (verdicts.count("passed"), len(verdicts))
        best[student, exercise] = max(best.get((student, exercise), score), score)
    exercises = sorted({exercise for _, exercise in best})
    table = {
        r.student: {e: "{}/{}".format(*best[r.student, e]) if (r.student, e) in best else "-" for e in exercises}
        | {"total": r.verdict}
        for r in sorted(rows, key=lambda r: r.student)
        if r.task == TOTAL
    }
    lines = [format_table(table, first="student")] if table else []
    counts = Counter(r.verdict for r in rows if r.task not in (NOTEBOOK, TOTAL))
    lines.append("tasks: " + ", ".join(f"{n} {verdict}" for verdict, n in counts.most_common()))
    flagged = [r for r in rows if r.task == NOTEBOOK and r.verdict in FLAGGED]
    if flagged:
        lines.append("look at these notebooks by hand:")
        lines += [f"  {r.file}: {r.verdict}: {r.message}".replace("\n", " | ") for r in flagged]
    return "\n".join(lines)
