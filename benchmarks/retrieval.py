"""Retrieval quality of pooled vectors, MaxSim and BM25 on a BEIR-format dataset.

    python benchmarks/retrieval.py --dataset scifact --method maxsim
    python benchmarks/retrieval.py --dataset scifact --method maxsim --dtype bf16 --score-dtype bf16   # the bf16 levers

prints one JSON line: nDCG@10, Recall@100 (and @2, @10), documents encoded per
second, and the wall time. Pooled and MaxSim use the same model and weights
(default: the embedded all-MiniLM-L6-v2); only the scoring differs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from lateint import load_encoder  # noqa: E402
from lateint.bm25 import BM25  # noqa: E402
import lateint.cache  # noqa: E402
from lateint.data import load_beir  # noqa: E402
from lateint.metrics import evaluate, run_from_scores  # noqa: E402
from lateint.index import MaxSimIndex, PooledIndex  # noqa: E402

METRICS = ("ndcg@10", "recall@100", "recall@10", "recall@2")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def encode(encoder, texts, kind, use_cache, **kw):
    """Encode with or without the on-disk cache; returns (vectors, seconds)."""
    start = time.perf_counter()
    out = lateint.cache.encode(encoder, texts, kind, cache=use_cache, show_progress=True, **kw)
    return out, time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True, help="scifact, nfcorpus, limit-small, or any BEIR-format folder name")
    p.add_argument("--method", required=True, choices=["pooled", "maxsim", "bm25"])
    p.add_argument("--split", default="test")
    p.add_argument("--data-dir", default=None, help="folder holding <dataset>/ (default: $LATEINT_DATA, ../shared/datasets)")
    p.add_argument("--model", default=None, help="local folder or hub id (default: embedded all-MiniLM-L6-v2)")
    p.add_argument("--document-length", type=int, default=None, help="max document tokens (default: the model's)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--cache", action="store_true", help="reuse cached embeddings (then docs/s is not measured)")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="fp32", help="the encoder's dtype (load_encoder(dtype=))")
    p.add_argument("--score-dtype", choices=sorted(DTYPES), default="fp32",
                   help="MaxSimIndex's dtype; bf16 also scores in fp32 and reports how far the two are apart")
    args = p.parse_args(argv)

    wall = time.perf_counter()
    torch.manual_seed(0)
    ds = load_beir(args.dataset, split=args.split, data_dir=args.data_dir)
    doc_ids, doc_texts = ds.doc_ids, ds.doc_texts
    result = {"dataset": args.dataset, "split": args.split, "method": args.method, "docs": len(doc_ids),
              "queries": len(ds.queries)}
    if args.method == "bm25":
        t = time.perf_counter()
        bm25 = BM25(doc_ids, doc_texts)
        enc_s = time.perf_counter() - t
        run = bm25.run(ds.query_texts, ds.query_ids, k=100)
        result["model"] = "bm25s (k1=1.2, b=0.75, English stopwords, Snowball stemmer)"
    else:
        encoder = load_encoder(args.model, batch_size=args.batch_size, document_length=args.document_length,
                               dtype=DTYPES[args.dtype])
        result["model"] = encoder.name
        result["dtype"], result["score_dtype"] = args.dtype, args.score_dtype
        result["document_length"] = encoder.format.doc_length
        if args.method == "pooled":
            docs, enc_s = encode(encoder, doc_texts, "pooled", args.cache)
            queries, _ = encode(encoder, ds.query_texts, "pooled", args.cache, is_query=True)
            scores = PooledIndex(doc_ids, docs).scores(queries)
        else:
            docs, enc_s = encode(encoder, doc_texts, "documents", args.cache)
            queries, _ = encode(encoder, ds.query_texts, "queries", args.cache)
            t = time.perf_counter()
            scores = MaxSimIndex(doc_ids, docs, dtype=DTYPES[args.score_dtype]).scores(queries)
            result["score_s"] = round(time.perf_counter() - t, 2)
            if args.score_dtype != "fp32":  # how far the bf16 scores are from fp32's on the same vectors
                full = MaxSimIndex(doc_ids, docs).scores(queries)
                top = [(set(a.topk(10).indices.tolist()), set(b.topk(10).indices.tolist())) for a, b in zip(full, scores)]
                result["max_score_diff_vs_fp32"] = round((scores - full).abs().max().item(), 4)
                result["same_top10_vs_fp32"] = f"{sum(a == b for a, b in top)}/{len(top)}"
                result["top10_overlap_vs_fp32"] = round(sum(len(a & b) for a, b in top) / (10 * len(top)), 4)
        run = run_from_scores(scores, ds.query_ids, doc_ids, k=100)
    result.update({k: round(v, 4) for k, v in evaluate(run, ds.qrels, METRICS).items()})
    result["docs_per_s"] = None if args.cache else round(len(doc_ids) / enc_s, 1)
    result["wall_s"] = round(time.perf_counter() - wall, 1)
    result["torch_threads"] = torch.get_num_threads()
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
