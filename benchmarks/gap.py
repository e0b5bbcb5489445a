"""The gap to perfect retrieval on the full SciFact and NFCorpus test sets: ranking or never retrieved?

    python benchmarks/gap.py                      # SciFact and NFCorpus, full test sets
    python benchmarks/gap.py --datasets scifact   # one set
    python benchmarks/gap.py --write-readme       # also update benchmarks/README.md

For each dataset: pooled (one vector) and MaxSim (token vectors) from one pass of the embedded
all-MiniLM-L6-v2 (through the embedding cache, so a rerun skips the encoding; the first SciFact
encode takes minutes), and BM25, each keeping its top 100 per query. Then, with
``lateint.lessons.gap`` (definitions in its docstring), at depth 100 and at depth 10:

* per method: nDCG@10, nDCG@10 with its own top ``depth`` reordered relevant-first (its oracle),
  and Recall@depth; the union of the three methods' top ``depth`` as one more row;
* the relevant judgements no method retrieves, and the best method's gap to 1 split into
  ranking (within its own top ``depth``, or found only by another method) and never retrieved.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import report, table  # noqa: E402

from lateint import load_encoder  # noqa: E402
from lateint.bm25 import BM25  # noqa: E402
from lateint.comparison import retrieve_all  # noqa: E402
from lateint.data import load_beir  # noqa: E402
from lateint.lessons.gap import gap_split, gap_table, never_retrieved  # noqa: E402

DEPTHS = (100, 10)
METHODS = ("pooled", "maxsim", "bm25")
NAMES = {"scifact": "SciFact", "nfcorpus": "NFCorpus"}


def runs_of(name: str, encoder) -> tuple[object, dict]:
    """``(ds, {method: run})`` on the full test set of ``name``, each run the method's top 100."""
    ds = load_beir(name)
    # one pass of the encoder for both (read from the embedding cache after the first run)
    runs = retrieve_all(ds, encoder, methods=("pooled", "maxsim"), k=max(DEPTHS), show_progress=True)
    runs["bm25"] = BM25(ds.doc_ids, ds.doc_texts).run(ds.query_texts, ds.query_ids, k=max(DEPTHS))
    return ds, {m: runs[m] for m in METHODS}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", default=["scifact", "nfcorpus"])
    p.add_argument("--write-readme", action="store_true", help="put the tables into benchmarks/README.md")
    args = p.parse_args(argv)

    encoder = load_encoder()
    per_method, splits, measured = [], [], {}
    for name in args.datasets:
        ds, runs = runs_of(name, encoder)
        label = NAMES.get(name, name)
        size = f"{label} ({len(ds.doc_ids):,} docs, {len(ds.query_ids)} queries)"
        for depth in DEPTHS:
            rows = gap_table(runs, ds.qrels, depth=depth)
            missed = never_retrieved(runs, ds.qrels, depth=depth)
            split = gap_split(runs, ds.qrels, depth=depth)
            measured[(name, depth)] = {"table": rows, "never retrieved": missed, "split": split}
            for method, row in rows.items():
                per_method.append([size, depth, "union of the three" if method == "union" else method,
                                   f"{row['ndcg@10']:.3f}" if "ndcg@10" in row else "",
                                   f"{row['reordered']:.3f}", f"{row[f'recall@{depth}']:.3f}"])
            splits.append([
                size, depth, f"{missed['relevant']:,}",
                f"{missed['never retrieved']:,} ({missed['share never retrieved']:.1%})",
                missed["queries with none retrieved"], split["best method"], f"{split['best']:.3f}",
                f"{split['gap']:.3f}", f"{split['ranking, own top depth']:.3f}",
                f"{split['ranking, only another method']:.3f}", f"{split['never retrieved']:.3f}",
                f"{split['union reordered']:.3f}",
            ])
            print(f"{label} depth {depth}: {split}", flush=True)
    body = (
        "Per method: nDCG@10 as ranked, nDCG@10 with its own top *depth* reordered relevant-first "
        "(its oracle), and Recall@depth; the union row is the three methods' top *depth* together.\n\n"
        + table(["dataset", "depth", "method", "nDCG@10", "reordered nDCG@10", "Recall@depth"], per_method)
        + "\n\nThe best method's gap to a perfect nDCG@10, split (the three parts add up to the gap):\n\n"
        + table(["dataset", "depth", "relevant judgements", "never retrieved (no method's top depth)",
                 "queries with none retrieved", "best method", "its nDCG@10", "gap to 1",
                 "ranking: own top depth", "ranking: only another method", "never retrieved",
                 "union reordered (oracle nDCG@10)"], splits)
    )
    report("gap", body, args.write_readme)
    return measured


if __name__ == "__main__":
    main()
