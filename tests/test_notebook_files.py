"""The committed notebooks as files: they open clean (the kernelspec is the kernel's own, so opening and
closing an untouched lesson does not ask to save), their Colab/Binder links work offline (text, not
remote images), and every nbval marker says why the output is not compared."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ipykernel.kernelspec import get_kernel_dict

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("**/*.ipynb"))
REMOTE_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*(https?:)?//")


def cells(path: Path, kind: str):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for c in nb["cells"] if c["cell_type"] == kind]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 20


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_kernelspec_is_the_kernels_own(path):
    spec = json.loads(path.read_text(encoding="utf-8"))["metadata"]["kernelspec"]
    kernel = get_kernel_dict()
    assert spec == {"display_name": kernel["display_name"], "language": kernel["language"], "name": "python3"}, (
        f"{path.name}: kernelspec {spec}; JupyterLab rewrites it to the running kernel's and marks the notebook unsaved")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_work_offline(path):
    markdown = cells(path, "markdown")
    remote = [m for text in markdown for m in REMOTE_IMAGE.findall(text)]
    assert not remote, f"{path.name}: remote images (broken offline, console errors): use text links"
    if path.parent.name != "solutions":
        first = markdown[0]
        stem = path.relative_to(ROOT).as_posix()
        assert f"colab.research.google.com/github/lateint/lateint/blob/main/{stem})" in first
        assert f"mybinder.org/v2/gh/lateint/lateint/HEAD?labpath={stem})" in first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_nbval_marker_says_why(path):
    """A marker (`# NBVAL_IGNORE_OUTPUT`, `# NBVAL_RAISES_EXCEPTION`) alone on the first line (nbval's rule),
    then a comment line that tells the learner why."""
    for source in cells(path, "code"):
        lines = source.split("\n")
        marked = [i for i, line in enumerate(lines) if "NBVAL" in line]
        if not marked:
            continue
        where = f"{path.name}, cell starting {lines[0][:40]!r}"
        assert marked == [0] and re.fullmatch(r"# NBVAL_[A-Z_]+", lines[0]), f"{where}: the marker must be the first line, alone"
        assert len(lines) > 1 and re.match(r"# \S", lines[1]), f"{where}: the second line must say why (a comment)"


LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
QUESTION = re.compile(r"^\*\*This lesson answers:\*\* \*([^*\n]+\?)\*$", flags=re.MULTILINE)


def test_every_lesson_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| `(\d\d\w*?_\w+)` \| ", readme.split("## The lessons", 1)[1], flags=re.MULTILINE)
    assert {p.stem for p in LESSONS} <= set(listed)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_every_lesson_states_its_one_question_as_the_readme_does(path):
    """The first cell says, right under its links, the one question the lesson answers; the README's lesson table
    opens that lesson's row with the same question (the course site shows the row)."""
    first = cells(path, "markdown")[0]
    found = QUESTION.findall(first)
    assert len(found) == 1, f"{path.name}: the first cell needs one line '**This lesson answers:** *...?*'"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = re.search(rf"^\| `{path.stem}` \| (.+) \|$", readme, flags=re.MULTILINE)
    assert row and row.group(1).startswith(f"*{found[0]}* — "), (
        f"README.md's lesson table: the row of {path.stem} must open with its question, *{found[0]}* — ...")


def test_the_homework_tables_list_every_exercise():
    """The README's movements table names every exercise (by its lesson number) in its exercises column, and the
    instructors' guide (notebooks/exercises/README.md) has a row for each exercise notebook."""
    exercises = sorted((ROOT / "notebooks" / "exercises").glob("*.ipynb"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| \*\*\d · .+ \| .+ \| (.+) \|$", readme, flags=re.MULTILINE)
    assert len(rows) == 3, "README.md: the movements table (three rows, one per movement)"
    named = set(re.findall(r"`(\d\d\w?)` ", " ".join(rows)))
    guide = (ROOT / "notebooks" / "exercises" / "README.md").read_text(encoding="utf-8")
    for path in exercises:
        number = path.stem.split("_")[0]
        assert number in named, f"README.md's movements table lists no exercise `{number}`"
        assert f"| `{path.name}` |" in guide, f"notebooks/exercises/README.md has no row for {path.name}"
