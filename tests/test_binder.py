"""Binder installs what `make course` installs, at the versions the tests passed with (constraints.txt):
the notebooks' outputs are compared digit by digit, so an unpinned install can print other digits."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pins(text: str) -> dict[str, str]:
    """``{package: version}`` of every ``name==version`` in ``text`` (lower-case names)."""
    return {m[0].lower(): m[1] for m in re.findall(r"([A-Za-z0-9_.-]+)==([\w.+]+)", text)}


def extras(install_line: str) -> set[str]:
    """The extras of the ``-e ".[a,b]"`` in a pip install line."""
    found = re.search(r'-e\s+"?\.\[([^\]]*)\]', install_line)
    assert found, f"no editable install of the course in {install_line!r}"
    return {e.strip() for e in found[1].split(",")}


def pip_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.search(r"\bpip install\b|\$\(PIP\)", line) and "-e" in line]


def test_binder_installs_the_course_with_the_tested_pins():
    post_build = pip_lines((ROOT / "postBuild").read_text())
    assert len(post_build) == 1, f"postBuild should install the course once: {post_build}"
    assert re.search(r"(^|\s)-c\s+constraints\.txt(\s|$)", post_build[0]), (
        "postBuild must install with -c constraints.txt, as `make course` does")
    makefile = (ROOT / "Makefile").read_text()
    course = [line for line in pip_lines(makefile) if "course" in line and "test" not in line]
    assert len(course) == 1, course
    # Binder brings its own Jupyter (the course extra is JupyterLab); the rest must match
    assert extras(post_build[0]) == extras(course[0]) - {"course"}


def test_binder_torch_is_the_pinned_torch():
    constraints = pins((ROOT / "constraints.txt").read_text())
    environment = pins((ROOT / "environment.yml").read_text())
    makefile = re.search(r"^TORCH\s*\?=\s*torch==(\S+)", (ROOT / "Makefile").read_text(), flags=re.M)
    assert environment["torch"] == constraints["torch"] == makefile[1]


def test_the_checks_catch_an_unpinned_install():
    assert not re.search(r"(^|\s)-c\s+constraints\.txt(\s|$)", 'pip install --no-cache-dir -e ".[qdrant,audit]"')
    assert extras('pip install -e ".[qdrant, audit]"') == {"qdrant", "audit"}
    assert pins("torch==2.13.0\nNumPy==2.1.0") == {"torch": "2.13.0", "numpy": "2.1.0"}
