"""MKL's code paths: how fast torch's fp32 matrix products run under each ``MKL_CBWR`` setting.

    python benchmarks/mkl_paths.py              # the table, about 30 s
    python benchmarks/mkl_paths.py --rounds 5   # more interleaved rounds on a busy machine

The portability pass of ``make test`` (see the Makefile and ``notebooks/README.md``) runs the notebooks with
MKL's conditional numerical reproducibility setting ``MKL_CBWR``: on a CPU with AVX-512 it takes MKL's AVX2
path (what an AVX2-only CPU computes), and on an AVX2-only CPU it keeps MKL's own path, because the only
other one, ``COMPATIBLE`` (SSE-level), is several times slower. This script measures those ratios.

What it measures: one thread, a float32 product of a (4096 x 384) by a (384 x 1536) matrix (the shape of
all-MiniLM-L6-v2's feed-forward layer over 4,096 tokens), repeated for ``--seconds`` in a fresh process per
setting (MKL reads ``MKL_CBWR`` once, when it starts). Settings run in interleaved rounds and each keeps its
best round, as every speed benchmark here does (the machine is shared; the least disturbed run counts).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import command, machine, table  # noqa: E402

SHAPE = (4096, 384, 1536)  # (tokens, model dim, feed-forward dim)

_WORKER = """
import json, sys, time, torch
torch.set_num_threads(1)
m, k, n = {shape}
a, b = torch.randn(m, k), torch.randn(k, n)
a @ b  # warm up: MKL picks its path here
count, start = 0, time.perf_counter()
while time.perf_counter() - start < {seconds}:
    a @ b
    count += 1
print(json.dumps(2 * m * k * n * count / (time.perf_counter() - start) / 1e9))
"""


def gflops(setting: str | None, seconds: float) -> float:
    """GFLOP/s of the product in a fresh one-thread process with ``MKL_CBWR=setting`` (``None``: unset)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("MKL_CBWR", None)
    if setting is not None:
        env["MKL_CBWR"] = setting
    code = _WORKER.format(shape=SHAPE, seconds=seconds)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=2.0)
    args = p.parse_args()
    import torch

    from lateint.cpu import cpu_features

    torch.set_num_threads(1)  # as the workers run (machine() names this process's threads)
    features = cpu_features()
    settings: dict[str, str | None] = {"native (unset)": None}
    if "avx512f" in features.flags:
        settings["AVX512"] = "AVX512"
    settings["AVX2"] = "AVX2"
    settings["COMPATIBLE (SSE-level)"] = "COMPATIBLE"
    best = {label: 0.0 for label in settings}
    for _ in range(args.rounds):  # interleaved, so load changes hit every setting alike
        for label, setting in settings.items():
            best[label] = max(best[label], gflops(setting, args.seconds))
    native = best["native (unset)"]
    print(f"{command()}\n{machine()}\n")
    m, k, n = SHAPE
    print(f"fp32 ({m} x {k}) · ({k} x {n}), one thread, best of {args.rounds} rounds of {args.seconds:.0f} s\n")
    print(table(["MKL_CBWR", "GFLOP/s", "time vs native"],
                [[label, f"{g:.0f}", f"{native / g:.1f}x"] for label, g in best.items()]))


if __name__ == "__main__":
    main()
