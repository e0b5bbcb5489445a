"""Run pooled, MaxSim and BM25 retrieval on one dataset and compare them.

The lessons and ``benchmarks/retrieval.py`` use these two calls::

    runs = retrieve_all(ds, encoder, methods=("pooled", "maxsim", "bm25"))
    table = compare(ds, encoder)            # {method: {metric: value}}

For a plain encoder with mean pooling (the default all-MiniLM-L6-v2), the pooled
vectors and the MaxSim token vectors come from ONE forward pass: the pooled vector
is the mean of the raw token vectors, the MaxSim vectors are the same tokens
normalised. Same weights, same pass, only the scoring differs.
"""

from __future__ import annotations

from typing import Sequence

import torch

from .bm25 import BM25
from .cache import encode
from .metrics import Run, evaluate, run_depth, run_from_scores
from .index import MaxSimIndex, PooledIndex

__all__ = ["METHODS", "encode_corpus", "retrieve_all", "compare"]

METHODS = ("pooled", "maxsim", "bm25")


def _shares_pass(encoder) -> bool:
    """True when mean of the kept raw token vectors equals the model's pooled vector."""
    f = encoder.format
    return f.kind == "huggingface" and f.pooling == "mean"


def encode_corpus(
    encoder, texts: Sequence[str], kind: str, cache: bool = True, want: Sequence[str] = ("pooled", "tokens"), **kw
) -> dict[str, object]:
    """Pooled vectors ``(n, dim)`` and/or token vectors (list of ``(L_i, dim)``) of ``texts``.

    Args:
        kind: ``"documents"`` or ``"queries"``.
        cache: read/write the on-disk embedding cache.
        want: which of ``"pooled"`` and ``"tokens"`` to compute (a shared pass gives both anyway).
        kw: passed to the encoder (``batch_size``, ``show_progress``).

    Returns:
        ``{"pooled": tensor, "tokens": list}`` (only the keys asked for, unless both came from one pass).
    """

    def run(k: str, **a):
        return encode(encoder, texts, k, cache=cache, **a, **kw)

    if _shares_pass(encoder):
        raw = run(kind, normalize=False)
        pooled = torch.nn.functional.normalize(torch.stack([v.mean(0) for v in raw]), dim=-1)
        tokens = [torch.nn.functional.normalize(v, dim=-1) for v in raw]
        return {"pooled": pooled, "tokens": tokens}
    # a pooled query is encoded as a query (a ColBERT checkpoint adds [Q] and query augmentation)
    return {w: run("pooled", is_query=kind == "queries") if w == "pooled" else run(kind) for w in want}


def retrieve_all(
    ds,
    encoder=None,
    methods: Sequence[str] = METHODS,
    k: int = 100,
    cache: bool = True,
    show_progress: bool | None = None,
) -> dict[str, Run]:
    """A run (query id -> {doc id: score}, top ``k``) for each method on dataset ``ds``.

    Args:
        ds: a :class:`~lateint.data.BeirDataset` (or a lesson-size slice of one).
        encoder: needed for ``"pooled"`` and ``"maxsim"``.
        methods: any of ``"pooled"``, ``"maxsim"``, ``"bm25"``.
        show_progress: progress bars while encoding (default: only for 1,000+ texts).
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"Unknown method(s) {unknown}: choose from {METHODS}.")
    runs: dict[str, Run] = {}
    dense = [m for m in methods if m != "bm25"]
    if dense:
        if encoder is None:
            raise ValueError(f"Methods {dense} need an encoder: pass encoder=lateint.load_encoder().")
        want = ["pooled" if m == "pooled" else "tokens" for m in dense]
        opts = {"cache": cache, "want": want, "show_progress": show_progress}
        docs = encode_corpus(encoder, ds.doc_texts, "documents", **opts)
        queries = encode_corpus(encoder, ds.query_texts, "queries", **opts)
        for m in dense:
            if m == "pooled":
                scores = PooledIndex(ds.doc_ids, docs["pooled"]).scores(queries["pooled"])
            else:
                scores = MaxSimIndex(ds.doc_ids, docs["tokens"]).scores(queries["tokens"])
            runs[m] = run_from_scores(scores, ds.query_ids, ds.doc_ids, k=k)
    if "bm25" in methods:

        runs["bm25"] = BM25(ds.doc_ids, ds.doc_texts).run(ds.query_texts, ds.query_ids, k=k)
    return {m: runs[m] for m in methods}


def compare(
    ds,
    encoder=None,
    methods: Sequence[str] = METHODS,
    metrics: Sequence[str] = ("ndcg@10", "recall@100"),
    cache: bool = True,
    show_progress: bool | None = None,
) -> dict[str, dict[str, float]]:
    """``{method: {metric: mean value}}`` for each method on ``ds`` (see :func:`retrieve_all`)."""
    runs = retrieve_all(ds, encoder, methods, k=run_depth(metrics), cache=cache, show_progress=show_progress)
    return {m: evaluate(run, ds.qrels, metrics) for m, run in runs.items()}
