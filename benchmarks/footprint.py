"""Bytes per document against retrieval quality, for every way to store token vectors.

    python benchmarks/footprint.py                              # SciFact and NFCorpus, full test sets
    python benchmarks/footprint.py --datasets nfcorpus          # one set
    python benchmarks/footprint.py --write-readme               # also update benchmarks/README.md

For each dataset the embedded all-MiniLM-L6-v2 encodes documents and queries once
(through the embedding cache, so a rerun skips it; the first SciFact encode takes
about 6 minutes on 2 cores). Then every setting of ``SETTINGS`` is applied with
``lateint.lessons.compress.compress_corpus`` (token pooling, PCA, number format, fitted on
the documents) and scored by exhaustive MaxSim; the pooled single vector is the
baseline. Reported: vectors and bytes stored per document (shared tables such as
centroids and the PCA matrix spread over the documents), nDCG@10, and nDCG@10 as a
fraction of full-precision MaxSim.

Goal: a setting of at most 4 x the bytes of the pooled float32 vector (6,144 bytes
at dim 384) that keeps at least 97 % of MaxSim's nDCG@10 on both datasets.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import encoded_dataset, report, table  # noqa: E402

from lateint.lessons.compress import Compression  # noqa: E402
from lateint.lessons.cost import POOLED, footprint  # noqa: E402

C = Compression
SETTINGS = [
    C(),  # every token vector, float32: the reference
    C(storage="fp16"),
    C(storage="int8-vector"),
    C(storage="int8-dimension"),
    C(dim=128),
    C(dim=64),
    C(pool_factor=2),
    C(pool_factor=3),
    C(pool_factor=4),
    C(storage="residual-2bit"),
    C(storage="residual-1bit"),
    C(pool_factor=4, dim=128, storage="int8-dimension"),
    C(pool_factor=4, dim=64, storage="int8-vector"),
    C(pool_factor=4, storage="residual-1bit"),
    C(pool_factor=4, storage="residual-2bit", n_centroids=512),  # 512: 1,024 centroids would tip NFCorpus over 6,144 B
    C(pool_factor=3, dim=192, storage="residual-2bit"),
    C(pool_factor=4, dim=192, storage="residual-2bit"),
    C(pool_factor=3, dim=128, storage="residual-2bit"),
    C(pool_factor=4, dim=128, storage="residual-2bit"),
    C(pool_factor=4, dim=64, storage="residual-2bit"),
]
BUDGET_FACTOR, QUALITY_GOAL = 4, 0.97
COLUMNS = ("vectors/doc", "bytes/doc", "x pooled bytes", "ndcg@10", "of MaxSim")


def measure(name: str) -> dict[str, dict[str, float]]:
    """The footprint table of one dataset (see :func:`lateint.lessons.cost.footprint`)."""
    ds, docs, queries = encoded_dataset(name)
    return footprint(ds, docs, queries, SETTINGS, verbose=True)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["scifact", "nfcorpus"])
    p.add_argument("--write-readme", action="store_true", help="put the table into benchmarks/README.md")
    args = p.parse_args(argv)

    measured = {name: measure(name) for name in args.datasets}
    headers = ["setting"] + [f"{name} {column}" for name in args.datasets for column in COLUMNS]
    rows, winners = [], []
    for label in measured[args.datasets[0]]:
        row, ok = [label], label != POOLED
        for name in args.datasets:
            r = measured[name][label]
            row += [f"{r['vectors/doc']:.1f}", f"{r['bytes/doc']:,.0f}", f"{r['x pooled bytes']:.2f}",
                    f"{r['ndcg@10']:.3f}", f"{r['of MaxSim']:.1%}"]
            ok &= r["x pooled bytes"] <= BUDGET_FACTOR and r["of MaxSim"] >= QUALITY_GOAL
        rows.append(row)
        if ok:
            winners.append(label)
    verdict = (
        f"Settings within {BUDGET_FACTOR}× the pooled vector's bytes that keep ≥ {QUALITY_GOAL:.0%} of MaxSim's "
        f"nDCG@10 on every dataset: {', '.join(winners) if winners else 'none'}."
    )
    report("footprint", f"{verdict}\n\n{table(headers, rows)}", args.write_readme)
    return measured


if __name__ == "__main__":
    main()
