"""The order in which `make test`'s two pytest-xdist workers take the test files and notebooks: longest first.

`make test` runs with ``--dist loadscope --no-loadscope-reorder``: each test module and each notebook (its
cells in order, as nbval needs) goes whole to one worker, in the order collected; a worker takes the next
one when it is nearly done. Collected alphabetically, a long file could start last and run alone while the
other core waits (the shipped model's rebuild takes minutes; pytest-xdist's own reordering sorts by the
number of tests, which puts that module, ten tests, near the end). Sorting the files longest first
(the classic longest-processing-time rule) lets the short ones fill the gaps at the end.

How long a file takes is estimated, not measured here:

* a notebook: the seconds its cells took when it was last executed (nbformat's ``execution`` timestamps in
  each cell's metadata, written by nbconvert and JupyterLab), so the estimate follows the notebook;
* a test module: the sum over its tests of what the ``slow`` marker says (``@pytest.mark.slow(seconds=270)``
  on the longest tests: about what they take on a quiet machine; :data:`SLOW_SECONDS` for a ``slow`` or
  ``browser`` test without a figure; :data:`FAST_SECONDS` for any other).

Only the order changes: which tests run, and the order of the tests inside a file, stay as they were.
"""

from __future__ import annotations

from datetime import datetime

SLOW_SECONDS = 10.0
FAST_SECONDS = 0.5


def _seconds(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def notebook_seconds(nb) -> float:
    """Seconds the notebook's code cells took when it was last executed (0 for cells without timestamps)."""
    total = 0.0
    for cell in nb.cells:
        ran = cell.get("metadata", {}).get("execution", {})
        start, end = ran.get("iopub.execute_input"), ran.get("shell.execute_reply")
        if start and end:
            total += max(0.0, (_seconds(end) - _seconds(start)).total_seconds())
    return total


def test_seconds(item) -> float:
    """A test's estimated seconds, from its ``slow`` (or ``browser``) marker."""
    slow = item.get_closest_marker("slow")
    if slow is not None:
        return float(slow.kwargs.get("seconds", SLOW_SECONDS))
    return SLOW_SECONDS if item.get_closest_marker("browser") else FAST_SECONDS


def pytest_collection_modifyitems(session, config, items) -> None:
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)

    def cost(name: str) -> float:
        first = files[name][0]
        nb = getattr(first.parent, "nb", None)  # nbval's notebook file keeps the notebook it read
        if nb is not None:
            return notebook_seconds(nb)
        return sum(test_seconds(it) for it in files[name])

    order = sorted(files, key=lambda name: -cost(name))  # stable: equal estimates keep their collected order
    items[:] = [item for name in order for item in files[name]]
