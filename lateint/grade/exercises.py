"""Which exercises exist, which tasks they have, and which exercise (and student) a submission is.

The exercises and their tasks come from the instructor's own copy of the exercise
notebooks (``notebooks/exercises/`` of this repository unless told otherwise), never
from a submission: each exercise notebook carries, in its notebook metadata,

.. code-block:: json

    "lateint": {"exercise": "02_maxsim_by_hand",
                "tasks": [{"function": "maxsim_pair", "check": "check_maxsim"}, ...]}

one task per function the student writes and the check (in :mod:`lateint.checks`) that
grades it. A submission is recognised by that same metadata (which survives a download
from Jupyter or Colab) or, failing that, by the exercise's name in its file name.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Exercise", "Submission", "Task", "default_exercises_folder", "find_submissions", "load_exercises"]


@dataclass(frozen=True)
class Task:
    """One graded task: the function the student defines and the name of the check that grades it."""

    function: str
    check: str


@dataclass(frozen=True)
class Exercise:
    """An exercise notebook: its name (the file's stem, e.g. ``02_maxsim_by_hand``) and its tasks in order."""

    name: str
    tasks: tuple[Task, ...]


@dataclass
class Submission:
    """One submitted notebook, read into memory when found (so a submission that deletes files cannot
    change what is graded after it). ``exercise`` is None when it could not be recognised, and
    ``problem`` then says why."""

    path: Path
    student: str
    notebook: bytes
    exercise: Exercise | None = None
    problem: str | None = None


def default_exercises_folder() -> Path:
    """``notebooks/exercises`` of the repository this package sits in."""
    return Path(__file__).resolve().parents[2] / "notebooks" / "exercises"


def load_exercises(folder: str | Path | None = None) -> dict[str, Exercise]:
    """The exercises in ``folder`` (default: :func:`default_exercises_folder`), by name.

    Raises FileNotFoundError when the folder has no exercise notebooks, and ValueError
    when one lacks the ``lateint`` metadata or names a check that does not exist.
    """
    from lateint import checks

    folder = Path(folder) if folder is not None else default_exercises_folder()
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(
            f"no exercise notebooks in {folder}: pass the folder of the course's notebooks/exercises "
            "(the instructor's copy, with the 'lateint' notebook metadata) as exercises=... / --exercises."
        )
    exercises = {}
    for path in paths:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("lateint")
        if not isinstance(meta, dict) or not isinstance(meta.get("tasks"), list):
            raise ValueError(
                f"{path} has no notebook metadata 'lateint' with its tasks; add "
                '{"lateint": {"exercise": "<file name without .ipynb>", "tasks": [{"function": ..., "check": ...}]}} '
                "(see notebooks/exercises/README.md, 'Adding a task')."
            )
        tasks = tuple(Task(t["function"], t["check"]) for t in meta["tasks"])
        for task in tasks:
            if not task.check.startswith("check_") or not callable(getattr(checks, task.check, None)):
                raise ValueError(
                    f"{path}: task {task.function!r} names {task.check!r}, which is not in lateint.checks."
                )
        exercises[path.stem] = Exercise(path.stem, tasks)
    return exercises


def identify(notebook: dict, file_name: str, exercises: dict[str, Exercise]) -> Exercise | None:
    """The exercise a submission is: its metadata's name if known, else the longest exercise name in its file name."""
    meta = notebook.get("metadata", {}).get("lateint") if isinstance(notebook.get("metadata"), dict) else None
    name = meta.get("exercise") if isinstance(meta, dict) else None
    if isinstance(name, str) and name in exercises:
        return exercises[name]
    normalised = _normalise(file_name)
    found = [e for e in exercises if _normalise(e) in normalised]
    return exercises[max(found, key=len)] if found else None


def _normalise(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", name.lower())


MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024  # a bigger "notebook" is refused, not read into memory


def _walk(folder: Path) -> list[tuple[Path, str | None]]:
    """(path, why refused or None) for each ``*.ipynb`` file under ``folder``, and each link or odd file named so.

    Iterative (any depth), never follows a symbolic link: a link to a folder or to a notebook is
    reported, not read (a link could point at the solutions, or at a file only the grader may read).
    """
    found, folders = [], [folder]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                path = Path(entry.path)
                if entry.name == ".ipynb_checkpoints":
                    continue
                if entry.is_symlink():
                    if entry.name.endswith(".ipynb") or os.path.isdir(path):
                        found.append((path, f"a symbolic link (to {os.readlink(path)}), not a file: not followed"))
                elif entry.is_dir(follow_symlinks=False):
                    folders.append(path)
                elif entry.name.endswith(".ipynb"):
                    found.append((path, None if entry.is_file(follow_symlinks=False) else "not a regular file"))
    return found


def _read(path: Path) -> bytes:
    """The file's bytes, opened without following a link and without blocking on a pipe; at most MAX_NOTEBOOK_BYTES."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"{info.st_size / 1e6:.0f} MB, more than the {MAX_NOTEBOOK_BYTES // 2**20} MiB a notebook may be")
        data = f.read(MAX_NOTEBOOK_BYTES + 1)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"more than the {MAX_NOTEBOOK_BYTES // 2**20} MiB a notebook may be")
    return data


def find_submissions(folder: str | Path, exercises: dict[str, Exercise]) -> list[Submission]:
    """Every ``*.ipynb`` under ``folder``, with its student and exercise, sorted by student then file.

    Two layouts are understood: one sub-folder per student (``alice/02_maxsim_by_hand.ipynb``;
    the student is the sub-folder's name), or all files in one folder with the student in
    the file name (``alice_02_maxsim_by_hand.ipynb``; the student is the file name without
    the exercise's name). Jupyter's ``.ipynb_checkpoints`` folders are skipped. Symbolic
    links are not followed: each gives a submission with ``problem`` "a symbolic link ..."
    (as do pipes and other files that are not regular), and so does a file over 50 MiB.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder: pass the folder that holds the submitted notebooks.")
    submissions = []
    for path, refused in _walk(folder):
        relative = path.relative_to(folder)
        named = identify({}, path.name, exercises)  # by its file name only, for a file that is not read
        student = relative.parts[0] if len(relative.parts) > 1 else _student_from_file_name(path.stem, named)
        if refused:
            submissions.append(Submission(path, student, b"", None, f"refused: {refused}"))
            continue
        try:
            data = _read(path)
            notebook = json.loads(data)
            if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
                raise ValueError("no list of cells")
        except (OSError, ValueError, RecursionError) as e:
            submissions.append(Submission(path, student, b"", None, f"not a readable notebook ({e})"[:200]))
            continue
        exercise = identify(notebook, path.name, exercises)
        student = relative.parts[0] if len(relative.parts) > 1 else _student_from_file_name(path.stem, exercise)
        problem = None
        if exercise is None:
            problem = (
                "could not tell which exercise this is: no 'lateint' notebook metadata and no exercise name "
                f"({', '.join(exercises)}) in the file name"
            )
        submissions.append(Submission(path, student, data, exercise, problem))
    return sorted(submissions, key=lambda s: (s.student, str(s.path)))


def _student_from_file_name(stem: str, exercise: Exercise | None) -> str:
    """``Alice_02_maxsim_by_hand`` -> ``Alice``; the whole stem when nothing is left or no exercise is known."""
    if exercise is None:
        return stem
    name = r"[\s\-._]*".join(map(re.escape, exercise.name.split("_")))
    rest = re.sub(name, " ", stem, flags=re.IGNORECASE)
    rest = re.sub(r"(?i)^\s*copy of\s*|\s*\(\d+\)\s*$", "", rest)  # Colab's "Copy of X", a browser's "X (1)"
    return rest.strip(" _-.") or stem
