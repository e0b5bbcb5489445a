"""Long documents: truncation, cram, chunks and MaxSim over whole documents, on real data.

    python benchmarks/long_docs.py                       # both parts on the default slices, rows to long_docs_results.jsonl
    python benchmarks/long_docs.py --part table          # only the strategy table
    python benchmarks/long_docs.py --part stress         # only the length stress
    python benchmarks/long_docs.py --report              # table and plot from the saved rows (no encoding)
    python benchmarks/long_docs.py --whole               # whole test sets (hours on 2 cores)
    python benchmarks/long_docs.py --whole --bf16        # the same, encoded in bf16 (CPUs with native bf16: ~3x faster)
    python benchmarks/long_docs.py --part huge           # one 100,000-token document: time and peak memory

Part 1, the strategy table: for SciFact and NFCorpus (deterministic slices by default, ``lateint.subsample``
seed 0: some test queries, all their judged documents, random distractors), every strategy of
``lateint.lessons.long_docs.measure_strategies``: nDCG@10, Recall@100, the paired-bootstrap 95 % interval of
nDCG@10 against MaxSim over whole documents, float32 bytes stored per document and documents encoded per
second.

Part 2, the length stress: SciFact's slice rebuilt so every document is ``k`` real documents of the slice
joined (``joined_corpus``: seeded positions, the judged document keeps its id and judgements wherever it
lands), k in {1, 2, 4, 8, 16}, scored with the real test queries. Chunks are cut from the joined text as a
chunker sees it (never at the source documents' boundaries); whole documents (MaxSim and cram) are composed
from each source document's own whole-document vectors, encoded once: that approximates windows over the
joined text in one way only, the tokens near a join do not see the neighbouring document as context.

Part ``huge`` (not in ``all``): one document of 100,000 tokens encoded whole with the real model, windows
batched, with the wall time and the process's peak resident memory (tests/test_windows.py checks the
batching with a stand-in model; this is the real model's cost).

Rows go to ``benchmarks/long_docs_results.jsonl`` as they are measured (one per dataset x k x strategy), so
a partial run still reports; ``--report`` prints the tables and draws ``benchmarks/long_docs.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import command, machine, table  # noqa: E402

import lateint  # noqa: E402
from lateint.lessons.long_docs import (  # noqa: E402
    CHUNK_SIZES,
    MAXSIM_WHOLE,
    joined_corpus,
    measure_strategies,
    strategy_table,
    truncation_fact,
    format_truncation_fact,
)
from lateint.windows import encode_whole  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "long_docs_results.jsonl"
PLOT = HERE / "long_docs.png"
SLICES = {"scifact": (30, 120), "nfcorpus": (10, 60)}  # (test queries, distractors), seed 0
STRESS = (12, 18)  # SciFact queries and distractors for the length stress
KS = (1, 2, 4, 8, 16)


def write(row: dict) -> None:
    with RESULTS.open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


def part_table(enc, datasets, whole: bool, chunk_sizes=CHUNK_SIZES, sentences: bool = True) -> None:
    for name in datasets:
        full = lateint.load_beir(name)
        print(format_truncation_fact(f"{name} (whole corpus)", truncation_fact(enc, full.doc_texts)), flush=True)
        ds = full if whole else lateint.subsample(full, *SLICES[name], seed=0)
        print(f"{ds.name}: {len(ds.query_ids)} queries, {len(ds.doc_ids)} documents", flush=True)
        start = time.perf_counter()
        # whole sets go through the embedding cache: an interrupted run resumes where it stopped
        measured = measure_strategies(enc, ds, chunk_sizes=chunk_sizes, sentences=sentences, verbose=True,
                                      cache=True if whole else None)
        for label, row in strategy_table(ds, measured).items():
            if whole:  # encoded through the cache, often across several runs: no clean timing (the slices have it)
                row["docs/s"] = float("nan")
            write({"part": "table", "dataset": ds.name, "strategy": label, **row, "encoding": _dtype_name(enc),
                   "machine": machine()})
        print(f"{ds.name}: {time.perf_counter() - start:.0f} s", flush=True)


def _dtype_name(enc) -> str:
    return str(enc.dtype).removeprefix("torch.") if hasattr(enc, "dtype") else "float32"


def part_stress(enc, ks, chunk_sizes) -> None:
    ds = lateint.subsample(lateint.load_beir("scifact"), *STRESS, seed=0)
    print(f"length stress on {ds.name}: {len(ds.query_ids)} queries, {len(ds.doc_ids)} documents", flush=True)
    raw = dict(zip(ds.doc_ids, encode_whole(enc, ds.doc_texts, normalize=False)))
    for k in ks:
        joined, members = joined_corpus(ds, k, seed=0)
        start = time.perf_counter()
        measured = measure_strategies(enc, joined, chunk_sizes=chunk_sizes, sentences=False,
                                      whole_from={"members": members, "raw": raw}, verbose=True)
        for label, row in strategy_table(joined, measured).items():
            write({"part": "stress", "dataset": ds.name, "k": k, "strategy": label, **row})
        print(f"k = {k}: {time.perf_counter() - start:.0f} s", flush=True)


def part_huge(enc, n_tokens: int = 100_000, batch_size: int = 16) -> None:
    """Encode one ``n_tokens``-token document whole; print wall seconds and peak RSS (MiB)."""
    import resource

    t = time.perf_counter()
    (vectors,) = encode_whole(enc, ["word " * n_tokens], batch_size=batch_size)
    seconds = time.perf_counter() - t
    assert vectors.shape == (n_tokens + 2, enc.dim) and bool(vectors.isfinite().all())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"one document of {n_tokens:,} tokens: {vectors.shape[0]:,} vectors in {seconds:.0f} s, "
          f"batches of {batch_size} windows, peak resident memory {peak:,.0f} MiB (the model included)")


def report() -> None:
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    for name in dict.fromkeys(r["dataset"] for r in rows if r["part"] == "table"):
        # a later run of a strategy replaces an earlier one (a whole set is often measured in several runs)
        mine = list({r["strategy"]: r for r in rows if r["part"] == "table" and r["dataset"] == name}.values())
        encodings = sorted({r.get("encoding", "float32") for r in mine})
        print(f"\n{name} (encoded in {', '.join(encodings)})\n")
        print(table(["strategy", "nDCG@10", "Recall@100", "vs MaxSim whole (95% CI)", "vectors/doc", "bytes/doc", "docs/s"],
                    [[r["strategy"], f"{r['ndcg@10']:.3f}", f"{r['recall@100']:.3f}",
                      "reference" if r["strategy"] == MAXSIM_WHOLE else f"{r['delta']:+.3f} ({r['lo']:+.3f} to {r['hi']:+.3f})",
                      f"{r['vectors/doc']:.1f}" if r["vectors/doc"] else "-",
                      f"{r['bytes/doc']:,.0f}" if r["bytes/doc"] else "-",
                      f"{r['docs/s']:.1f}" if r["docs/s"] == r["docs/s"] else "-"] for r in mine]))
    stress = [r for r in rows if r["part"] == "stress"]
    if not stress:
        return
    curves: dict[str, list] = {}
    for r in stress:
        curves.setdefault(r["strategy"], []).append((r["k"], r["ndcg@10"]))
    ks = sorted({r["k"] for r in stress})
    print(f"\nlength stress, {stress[0]['dataset']}: nDCG@10 by k\n")
    print(table(["strategy", *[f"k={k}" for k in ks]],
                [[label, *[f"{dict(p).get(k, float('nan')):.3f}" for k in ks]] for label, p in curves.items()]))
    import matplotlib

    matplotlib.use("Agg")
    from lateint.lessons.long_docs import plot_length_curve

    ax = plot_length_curve(curves, title=f"Length stress: {stress[0]['dataset']}, every document = k joined")
    ax.figure.tight_layout()
    ax.figure.savefig(PLOT, dpi=110)
    print(f"\nplot: {PLOT.relative_to(HERE.parent)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=["table", "stress", "all", "huge"], default="all")
    p.add_argument("--datasets", nargs="+", default=list(SLICES))
    p.add_argument("--whole", action="store_true", help="whole test sets instead of the slices")
    p.add_argument("--ks", nargs="+", type=int, default=list(KS))
    p.add_argument("--stress-chunks", nargs="+", type=int, default=[64], help="chunk sizes in the length stress")
    p.add_argument("--chunk-sizes", nargs="*", type=int, default=list(CHUNK_SIZES),
                   help="token chunk sizes in the strategy table (none: no token chunks)")
    p.add_argument("--no-sentences", action="store_true", help="leave sentence chunks out of the strategy table")
    p.add_argument("--bf16", action="store_true",
                   help="encode in bfloat16 (lateint's opt-in path; scores stay float32): ~3x faster where the CPU has native bf16")
    p.add_argument("--report", action="store_true", help="only print the tables and draw the plot from saved rows")
    args = p.parse_args()
    if args.report:
        return report()
    print(f"{command()}\n{machine()}", flush=True)
    import torch

    enc = lateint.load_encoder(device="cpu", dtype=torch.bfloat16 if args.bf16 else torch.float32)
    if args.part == "huge":
        return part_huge(enc)
    if args.part in ("table", "all"):
        part_table(enc, args.datasets, args.whole, args.chunk_sizes, not args.no_sentences)
    if args.part in ("stress", "all"):
        part_stress(enc, args.ks, args.stress_chunks)
    report()


if __name__ == "__main__":
    main()
