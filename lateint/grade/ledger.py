"""Grades kept as they are decided, so a killed grader loses at most the notebooks it was running.

Next to ``grades.csv`` the grader keeps ``grades.csv.ledger.jsonl``: a first line with the
settings the grades depend on (limits, exercises and their tasks), then one line per graded
notebook, ``{"key": ..., "rows": [[student, exercise, task, verdict, message, file], ...]}``,
each appended and flushed to disk (``fsync``) the moment that notebook is judged. A notebook's
key is its path in the submissions folder and the SHA-256 of its bytes, so a rerun grades only
the notebooks not in the ledger yet, or changed since; a line cut short by a kill is dropped.
With other settings the ledger starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from ..files import write_atomically
from .exercises import Submission
from .report import Row

__all__ = ["Ledger", "ledger_path"]


def ledger_path(out: str | Path) -> Path:
    """Where the ledger of ``out`` (the CSV) lives: ``<out>.ledger.jsonl`` beside it."""
    out = Path(out)
    return out.with_name(out.name + ".ledger.jsonl")


def key(sub: Submission, folder: Path) -> str:
    """A notebook's key: its path under the submissions folder, then the SHA-256 of its bytes."""
    relative = os.fsencode(sub.path.relative_to(folder)).decode("utf-8", "backslashreplace")
    return f"{relative} {hashlib.sha256(sub.notebook).hexdigest()}"


class Ledger:
    """The rows of the notebooks graded so far (``graded[key]``), read back from ``path`` and appended to it."""

    def __init__(self, path: str | Path, settings: dict, *, fresh: bool = False, forget: Iterable[str] = ()):
        """Open the ledger at ``path``; ``fresh``: start it anew; ``forget``: students whose notebooks are re-graded."""
        self.path, self.settings = Path(path), settings
        self.graded: dict[str, list[Row]] = {}
        self.resumed = 0
        header, entries = self._read() if not fresh else (None, [])
        forget = set(forget)
        if header == settings:
            for entry in entries:
                rows = [Row(*r) for r in entry["rows"]]
                if not any(r.student in forget for r in rows):
                    self.graded[entry["key"]] = rows
        self.resumed = len(self.graded)
        self._rewrite()

    def _read(self) -> tuple[dict | None, list[dict]]:
        try:
            lines = self.path.read_bytes().split(b"\n")
        except FileNotFoundError:
            return None, []
        entries = []
        for line in lines[1:]:
            try:
                entry = json.loads(line)
                if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                    entries.append(entry)
            except (ValueError, RecursionError):  # the line a kill cut short (only the last can be)
                continue
        try:
            header = json.loads(lines[0]).get("settings")
        except (ValueError, AttributeError):
            header = None
        return header, entries

    def _rewrite(self) -> None:
        """The ledger as kept: written to a temporary file, then moved over the old one."""
        def write(tmp: Path) -> None:  # a temporary file starts 0600: the ledger is the instructor's alone
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(json.dumps({"settings": self.settings}) + "\n")
                f.writelines(_line(k, rows) for k, rows in self.graded.items())

        write_atomically(self.path, write, mode=0o600, durable=True)

    def add(self, k: str, rows: list[Row]) -> None:
        """Record one notebook's rows, on disk before this returns."""
        self.graded[k] = rows
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(_line(k, rows))
            f.flush()
            os.fsync(f.fileno())


def _line(k: str, rows: list[Row]) -> str:
    return json.dumps({"key": k, "rows": [list(r.__dict__.values()) for r in rows]}, ensure_ascii=True) + "\n"
