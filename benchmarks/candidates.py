"""Candidate generation then MaxSim re-ranking, against exhaustive MaxSim.

    python benchmarks/candidates.py                          # SciFact and NFCorpus, full test sets
    python benchmarks/candidates.py --candidates 20 100      # fewer settings
    python benchmarks/candidates.py --write-readme           # also update benchmarks/README.md

Pooled cosine picks the top ``k'`` documents per query, MaxSim re-ranks only those
(``lateint.rerank.two_stage_search``). Reported for each ``k'``: recall@10 against
exhaustive MaxSim (the share of exhaustive MaxSim's top 10 that the two-stage top 10
also finds), nDCG@10 against the qrels, and the search time with its speed-up over
exhaustive MaxSim (same queries, same index; encoding is excluded and cached).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import encoded_dataset, report, table  # noqa: E402

from lateint.lessons.cost import candidate_sweep  # noqa: E402


def measure(name: str, ks: list[int], repeats: int) -> list[list]:
    """Rows of the table for one dataset."""
    ds, docs, queries = encoded_dataset(name)
    sweep = candidate_sweep(ds, docs, queries, ks, repeats=repeats)
    rows = []
    for label, r in sweep.items():
        k = f"all {len(ds.doc_ids)} (exhaustive)" if label == "exhaustive" else label.split("=")[1]
        rows.append([name, k, f"{r['recall@10 vs exhaustive']:.1%}", f"{r['ndcg@10']:.3f}", r["seconds"],
                     f"{r['speed-up']:.1f}×"])
        print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> list[list]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["scifact", "nfcorpus"])
    p.add_argument("--candidates", type=int, nargs="+", default=[20, 50, 100, 200])
    p.add_argument("--repeats", type=int, default=2, help="timings are the best of this many runs")
    p.add_argument("--write-readme", action="store_true", help="put the table into benchmarks/README.md")
    args = p.parse_args(argv)
    rows = [r for name in args.datasets for r in measure(name, args.candidates, args.repeats)]
    headers = ["dataset", "k′ candidates", "recall@10 vs exhaustive", "nDCG@10", "search seconds (all queries)",
               "speed-up"]
    note = f"Best of {args.repeats} runs; all test queries at once; pooled candidates, MaxSim re-ranking."
    report("candidates", f"{note}\n\n{table(headers, rows)}", args.write_readme)
    return rows


if __name__ == "__main__":
    main()
