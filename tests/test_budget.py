"""benchmarks/notebooks.py: each lesson's "Run time" line is rewritten from a measurement, and nothing else."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def budget():
    spec = importlib.util.spec_from_file_location("budget_notebooks", ROOT / "benchmarks" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_run_time_line_is_replaced_and_its_remark_kept(budget, tmp_path):
    lesson = tmp_path / "07.ipynb"
    shutil.copy(ROOT / "notebooks" / "07_train_your_own.ipynb", lesson)
    before = nbformat.read(lesson, as_version=4)
    line = budget.run_time_line({"seconds": 98.6, "peak": 1.5 * 2**30}, "a 2-core CPU (test)", "2026-12-07")
    assert budget.write_run_time(lesson, line)
    after = nbformat.read(lesson, as_version=4)
    changed = [i for i, (a, b) in enumerate(zip(before.cells, after.cells)) if a.source != b.source]
    assert len(changed) == 1 and len(after.cells) == len(before.cells)
    text = after.cells[changed[0]].source
    assert ("**Run time:** 99 s cold (fresh kernel, empty embedding cache) on a 2-core CPU (test), 1,536 MiB at most, "
            "as measured by `benchmarks/notebooks.py` on 2026-12-07") in text
    assert text.count("**Run time:**") == 1 and "122 s cold" not in text
    assert text.endswith("; most of it is the two live training runs.")  # what followed the budget's link stays
    assert [c.get("outputs") for c in after.cells] == [c.get("outputs") for c in before.cells]


def test_a_notebook_without_a_run_time_line_is_left_alone(budget, tmp_path):
    exercise = tmp_path / "ex.ipynb"
    shutil.copy(ROOT / "notebooks" / "exercises" / "02_maxsim_by_hand.ipynb", exercise)
    raw = exercise.read_bytes()
    assert "**Run time:**" not in json.dumps(json.loads(raw))
    assert not budget.write_run_time(exercise, budget.run_time_line({"seconds": 1, "peak": 1}, "x", "2026-12-07"))
    assert exercise.read_bytes() == raw


def test_the_cpu_is_named_as_a_sentence_says_it(budget):
    assert budget.cpu_name("Intel(R) Xeon(R) Processor") == "Intel Xeon"
    assert budget.cpu_name("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz") == "Intel Xeon Platinum 8481C"
    assert budget.cpu_name("AMD EPYC 7B13 64-Core Processor") == "AMD EPYC 7B13 64-Core"
