"""The order `make test` hands files to its workers (the repository's conftest.py): longest first."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent


def _root_conftest():
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cell(start: str | None, end: str | None):
    cell = nbformat.v4.new_code_cell("pass")
    if start:
        cell.metadata["execution"] = {"iopub.execute_input": start, "shell.execute_reply": end}
    return cell


def test_a_notebook_costs_the_seconds_its_cells_took():
    nb = nbformat.v4.new_notebook(cells=[
        _cell("2026-12-07T10:00:00.000000Z", "2026-12-07T10:00:02.500000Z"),
        _cell(None, None),  # never executed: counts nothing
        _cell("2026-12-07T10:00:03Z", "2026-12-07T10:01:03Z"),
    ])
    assert _root_conftest().notebook_seconds(nb) == pytest.approx(62.5)


def test_files_run_longest_first_and_keep_their_tests_in_order(pytester):
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    pytester.makeini("[pytest]\nmarkers =\n    slow\n    browser\n")
    pytester.makepyfile(
        test_a="def test_one(): pass\ndef test_two(): pass\n",
        test_b="import pytest\n@pytest.mark.slow(seconds=30)\ndef test_long(): pass\ndef test_after(): pass\n",
        test_c="import pytest\n@pytest.mark.slow\ndef test_some(): pass\n",
    )
    result = pytester.runpytest("--collect-only", "-q")
    ids = [line for line in result.outlines if "::" in line]
    assert ids == ["test_b.py::test_long", "test_b.py::test_after", "test_c.py::test_some",
                   "test_a.py::test_one", "test_a.py::test_two"]
