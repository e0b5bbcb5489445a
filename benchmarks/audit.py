"""The label-free audit (``python -m lateint.audit``) on a real collection nobody here wrote, and at scale.

    apt-get install python3-doc          # Debian's Python 3.11 documentation (PSF licence)
    python benchmarks/audit.py python-docs [--folder /usr/share/doc/python3.11/html/library] [--probes 300]
    python benchmarks/audit.py synthetic --n 100000 [--max-docs 300]

``python-docs`` audits the HTML pages of the Python library reference; ``synthetic`` writes ``--n`` small
generated text files (random words, seeded) to a temporary folder and audits that, to measure the time and
peak memory of reading a folder of 100,000 files (the audit samples ``--max-docs`` of them, spread over their
sizes, and scores at most ``--max-tokens`` tokens, so memory stays bounded). Both print the verdict, the
Recall@k table with intervals, the run time and the peak resident memory (``ru_maxrss``). Not run in CI.
"""
from __future__ import annotations

import argparse
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


def synthetic_folder(root: Path, n: int, seed: int = 0) -> Path:
    """``n`` text files of 3 to 60 sentences of random words (a vocabulary of 3,000 made-up words)."""
    rng = random.Random(seed)
    vocab = ["".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))
             for _ in range(3000)]
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sentences = [" ".join(rng.choices(vocab, k=rng.randint(8, 20))).capitalize() + "."
                     for _ in range(rng.choice((3, 6, 12, 25, 60)))]
        (root / f"{i // 1000:03d}").mkdir(exist_ok=True)
        (root / f"{i // 1000:03d}" / f"doc{i:06d}.txt").write_text(" ".join(sentences))
    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("python-docs", "synthetic"))
    ap.add_argument("--folder", default="/usr/share/doc/python3.11/html/library")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--probes", type=int, default=300)
    ap.add_argument("--max-docs", type=int, default=1000)
    ap.add_argument("--max-tokens", type=int, default=400_000)
    ap.add_argument("--out", default="benchmarks/out/audit.html")
    a = ap.parse_args()

    from lateint.audit.__main__ import main as audit_main
    from lateint.audit.report import read_figures

    tmp = None
    start = time.perf_counter()
    if a.what == "synthetic":
        tmp = Path(tempfile.mkdtemp())
        folder = synthetic_folder(tmp / "docs", a.n)
        print(f"wrote {a.n:,} files in {time.perf_counter() - start:.0f} s")
    else:
        folder = Path(a.folder)
        if not folder.is_dir():
            sys.exit(f"{folder} is missing: apt-get install python3-doc (or pass --folder)")
    start = time.perf_counter()
    try:
        code = audit_main([str(folder), "--out", a.out, "--probes", str(a.probes), "--max-docs", str(a.max_docs),
                           "--max-tokens", str(a.max_tokens), "--no-cache"])
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.perf_counter() - start
    if code:
        sys.exit(code)
    f = read_figures(a.out)
    print(f"\n{f['documents']:,} documents scored, {f['probes']} probes, Recall@{f['k']} (Wilson 95 %), "
          "difference from MaxSim-whole (paired bootstrap 95 %):")
    for s, row in f["strategies"].items():
        value, lo, hi, n = row["recall"]["all"]
        d, dlo, dhi = row["delta"]
        print(f"  {s:32s} {value:.3f} [{lo:.3f}, {hi:.3f}]   {d:+.3f} [{dlo:+.3f}, {dhi:+.3f}]   "
              f"{row['vectors/doc']:.1f} vectors/doc")
    print(f"verdict: {f['choice']}")
    print(f"audit: {seconds:.0f} s wall, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB")


if __name__ == "__main__":
    main()
