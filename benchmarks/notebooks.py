"""The course's own budget: run every notebook cold and report its wall time and peak memory.

    python benchmarks/notebooks.py                                # every notebooks/*.ipynb and notebooks/*/*.ipynb
    python benchmarks/notebooks.py notebooks/05_cost_and_speed.ipynb
    python benchmarks/notebooks.py --write-readme                 # also update benchmarks/README.md
    python benchmarks/notebooks.py --write-readme --write-notebooks   # and each lesson's "Run time" line

Each notebook runs top to bottom with ``jupyter nbconvert --execute`` in a fresh
kernel, as a learner on Binder would: an empty embedding cache (``LATEINT_CACHE``
points to a new temporary folder), ``HF_HUB_OFFLINE=1``, the notebook's own folder
as working directory, and this checkout's ``lateint`` first on ``PYTHONPATH``. The executed copy is written to a temporary folder: the
committed notebooks are never modified. Peak memory is the largest sum of the
resident set sizes (RSS) of the kernel's process tree (nbconvert itself excluded),
sampled every 0.1 s with psutil.

Goals: each notebook within 3 minutes and 1.5 GB, the whole course within 10 minutes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report, table  # noqa: E402

from lateint.cpu import cpu_features  # noqa: E402
from lateint.files import write_atomically  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_SECONDS, NOTEBOOK_BYTES, COURSE_SECONDS = 180, 1.5e9, 600


def find_notebooks() -> list[Path]:
    """``notebooks/*.ipynb`` and ``notebooks/*/*.ipynb``, in name order, checkpoints left out."""
    found = list((ROOT / "notebooks").glob("*.ipynb")) + list((ROOT / "notebooks").glob("*/*.ipynb"))
    return sorted(p for p in found if ".ipynb_checkpoints" not in p.parts)


def run_cold(notebook: Path, timeout: int) -> dict:
    """Execute ``notebook`` in a fresh kernel; returns wall seconds, peak kernel RSS (bytes), ok and error."""
    with tempfile.TemporaryDirectory(prefix="lateint-nb-") as tmp:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "LATEINT_CACHE": str(Path(tmp) / "cache"), "MPLBACKEND": "Agg",
               # this checkout's lateint, installed or not (as `pip install -e .` would give)
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", str(notebook),
               "--output-dir", str(Path(tmp) / "out"), "--output", notebook.name,
               f"--ExecutePreprocessor.timeout={timeout}", "--allow-errors"]
        start = time.perf_counter()
        with open(Path(tmp) / "log", "w") as log_file:
            proc = psutil.Popen(cmd, env=env, cwd=notebook.parent, stdout=log_file, stderr=subprocess.STDOUT)
            peak = _wait_for(proc)
        wall = time.perf_counter() - start
        log = (Path(tmp) / "log").read_text(errors="replace")
        executed = Path(tmp) / "out" / notebook.name
        if proc.returncode != 0 or not executed.exists():
            error = log.strip().splitlines()[-1][:200] if log.strip() else "failed"
            return {"seconds": wall, "peak": peak, "ok": False, "error": error, "expected_errors": 0}
        unexpected, expected = unexpected_errors(json.loads(executed.read_text()))
    error = f"error in cell {unexpected[0][0]}: {unexpected[0][1]}" if unexpected else ""
    return {"seconds": wall, "peak": peak, "ok": not unexpected, "error": error, "expected_errors": expected}


def unexpected_errors(nb: dict) -> tuple[list[tuple[int, str]], int]:
    """Cells that raised without a ``# NBVAL_RAISES_EXCEPTION`` marker, and how many marked cells raised.

    Exercise notebooks stop at each unanswered task on purpose (their check cells are
    marked); every other error is a real failure.
    """
    unexpected, expected = [], 0
    for i, cell in enumerate(nb.get("cells", [])):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not errors:
            continue
        if "NBVAL_RAISES_EXCEPTION" in "".join(cell.get("source", "")):
            expected += 1
        else:
            unexpected.append((i, f"{errors[0].get('ename')}: {errors[0].get('evalue', '')}"[:160]))
    return unexpected, expected


def _wait_for(proc: psutil.Popen) -> int:
    """Wait for ``proc`` to end; returns the largest RSS sum of its descendants (bytes), sampled every 0.1 s."""
    peak = 0
    while proc.poll() is None:
        try:
            rss = 0
            for child in proc.children(recursive=True):
                try:
                    rss += child.memory_info().rss
                except psutil.NoSuchProcess:  # ended between listing and reading
                    pass
            peak = max(peak, rss)
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.1)
    return peak


BUDGET_LINK = "([the course's time and memory budget](../benchmarks/README.md#the-courses-time-and-memory-budget))"
_RUN_TIME = re.compile(r"\*\*Run time:\*\*.*?(?=\n\n|\Z)", re.DOTALL)  # the sentence, to the paragraph's end


def run_time_line(result: dict, where: str, day: str) -> str:
    """The lesson's ``**Run time:**`` sentence for one measurement (``result`` of :func:`run_cold`)."""
    return (f"**Run time:** {result['seconds']:.0f} s cold (fresh kernel, empty embedding cache) on {where}, "
            f"{result['peak'] / 2**20:,.0f} MiB at most, as measured by `benchmarks/notebooks.py` on {day} {BUDGET_LINK}.")


def cpu_name(model: str) -> str:
    """``"Intel(R) Xeon(R) Processor @ 2.1GHz"`` -> ``"Intel Xeon"``: the model name as a sentence says it."""
    name = re.sub(r"\((R|TM)\)", "", model.split(" @ ")[0])
    return re.sub(r"\s+(Processor|CPU)$", "", " ".join(name.split()))


def write_run_time(notebook: Path, line: str) -> bool:
    """Put ``line`` in place of the notebook's ``**Run time:**`` paragraph (a markdown cell), keeping what
    follows the budget's link in it; nothing else changes. Returns False where the notebook has none."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        found = _RUN_TIME.search(cell.source) if cell.cell_type == "markdown" else None
        if found:
            rest = found.group(0).split(BUDGET_LINK, 1)[1] if BUDGET_LINK in found.group(0) else "."
            cell.source = cell.source[: found.start()] + line[:-1] + (rest if rest.strip(" .") else ".") \
                + cell.source[found.end():]
            write_atomically(notebook, lambda tmp: nbformat.write(nb, str(tmp)))
            return True
    return False


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook of the course")
    p.add_argument("--timeout", type=int, default=900, help="seconds per cell before nbconvert gives up")
    p.add_argument("--write-readme", action="store_true", help="put the table into benchmarks/README.md")
    p.add_argument("--write-notebooks", action="store_true",
                   help="put each lesson's measurement into its **Run time:** line (lessons that ran ok)")
    args = p.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    notebooks = [n.resolve() for n in args.notebooks] or find_notebooks()
    if not notebooks:
        raise SystemExit(f"No notebooks found under {ROOT / 'notebooks'}.")
    results = []
    for nb in notebooks:
        r = {"notebook": str(nb.relative_to(ROOT)), **run_cold(nb, args.timeout)}
        results.append(r)
        print(f"{r['notebook']}: {'ok' if r['ok'] else 'FAILED ' + r['error']}, {r['seconds']:.0f} s, "
              f"peak {r['peak'] / 2**20:,.0f} MiB", flush=True)

    def verdict(ok: bool) -> str:
        return "✓" if ok else "✗"

    def status(r: dict) -> str:
        if not r["ok"]:
            return f"failed: {r['error']}"
        return f"ok ({r['expected_errors']} unanswered tasks stop, as designed)" if r["expected_errors"] else "ok"

    rows = [[r["notebook"], status(r), f"{r['seconds']:.0f}",
             f"{r['peak'] / 2**20:,.0f}",
             verdict(r["ok"] and r["seconds"] <= NOTEBOOK_SECONDS and r["peak"] <= NOTEBOOK_BYTES)] for r in results]
    total = sum(r["seconds"] for r in results)
    rows.append(["whole course", f"{sum(r['ok'] for r in results)}/{len(results)} ok", f"{total:.0f}",
                 f"{max(r['peak'] for r in results) / 2**20:,.0f} (largest)", verdict(total <= COURSE_SECONDS)])
    body = table(["notebook", "status", "wall seconds", "peak RSS (MiB)", "within goal"], rows)
    note = (f"Goals: each notebook ≤ {NOTEBOOK_SECONDS} s and ≤ {NOTEBOOK_BYTES / 1e9:.1f} GB "
            f"({NOTEBOOK_BYTES / 2**20:,.0f} MiB), the whole course ≤ {COURSE_SECONDS} s. "
            "Cold: empty embedding cache, fresh kernel, HF_HUB_OFFLINE=1.")
    report("notebooks", f"{note}\n\n{body}", args.write_readme)
    if args.write_notebooks:
        cpu = cpu_features()
        busy = max(load, os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"))
        where = f"a {os.cpu_count()}-core CPU ({cpu_name(cpu.model)}, {cpu.kind.upper()}; load average {busy:.1f} while it ran)"
        day = datetime.date.today().isoformat()
        for r in results:
            path = ROOT / r["notebook"]
            if r["ok"] and path.parent.name == "notebooks" and write_run_time(path, run_time_line(r, where, day)):
                print(f"{r['notebook']}: Run time line updated")
    return results


if __name__ == "__main__":
    main()
