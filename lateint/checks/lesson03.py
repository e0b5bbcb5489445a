"""Checks for exercise 03 ColBERT in practice (``notebooks/exercises/03_*.ipynb``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from ..metrics import ranked_doc_ids
from ..similarity import cosine_scores, maxsim
from .harness import (
    Case,
    compare_ids,
    default_encoder,
    describe_difference,
    failure,
    is_close,
    judge_answer,
    raw_hidden_states,
    run_check,
    seeded_generator,
    unit_vectors,
)

_QUERIES = ["Owls?", "Which lock stops a bicycle thief in town at night?", "When does the island ferry leave?"]


def check_encode_queries_batched(fn: Callable[[Sequence[str]], Sequence[torch.Tensor]], encoder=None) -> None:
    """Check ``fn(texts) -> list of (L_i, dim)`` token vectors, encoded in ONE padded batch.

    Reference: ``encoder.encode_queries(texts)`` (default encoder: the course's
    all-MiniLM-L6-v2), which keeps only each query's real tokens. The hidden batch
    mixes a one-word query with long ones, so keeping the padded positions shows.
    """
    encoder = encoder or default_encoder()
    cases = []
    for name, texts in (
        ("3 queries of 1 to 11 words in one batch", _QUERIES),
        ("1 query (no padding)", _QUERIES[2:]),
    ):
        hidden, mask = raw_hidden_states(encoder, texts, is_query=True)
        unit = torch.nn.functional.normalize(hidden, dim=-1)
        cases.append(
            Case(
                name,
                (list(texts),),
                encoder.encode_queries(texts),
                {
                    "the padded positions were kept: each query must keep only its real tokens (where the "
                    "attention mask is 1). Kept padding adds its best matches to every score, so short queries "
                    "score higher.": list(unit),
                    "the token vectors are not L2-normalised (each row should have length 1).": [
                        h[m] for h, m in zip(hidden, mask)
                    ],
                },
            )
        )
    run_check(
        "check_encode_queries_batched",
        fn,
        cases,
        _compare_tensor_list,
        "real tokens only, unit length, one matrix per query",
    )


def _compare_tensor_list(check: str, got: Any, case: Case) -> None:
    """Compare a list of ``(L_i, dim)`` tensors, one per text."""
    if isinstance(got, torch.Tensor) and got.dim() == 3:
        got = list(got)
    if not isinstance(got, (list, tuple)) or not all(isinstance(g, torch.Tensor) for g in got):
        raise failure(check, case, f"expected a list of (tokens, dim) tensors, one per text, got a {type(got).__name__}.")

    def same(a, b):
        return len(a) == len(b) and all(is_close(x.float(), y) for x, y in zip(a, b))

    def describe(got, expected):
        if len(got) != len(expected):
            return f"expected {len(expected)} tensors (one per text), got {len(got)}."
        for i, (g, e) in enumerate(zip(got, expected)):
            if g.shape != e.shape:
                return f"text {i}: shape {tuple(g.shape)}, expected {tuple(e.shape)} (its number of real tokens x dim)."
        return "right shapes, wrong values: " + describe_difference(torch.cat([g.float() for g in got]), torch.cat(expected))

    judge_answer(check, case, got, same, describe)


def check_rerank(fn: Callable[[torch.Tensor, Mapping[str, torch.Tensor]], Sequence[str]]) -> None:
    """Check ``fn(q (Lq, dim), candidates {doc_id: (Ld, dim)}) -> doc ids``, best MaxSim first.

    Reference: the candidates sorted by :func:`lateint.similarity.maxsim`, ties broken like
    :func:`lateint.metrics.ranked_doc_ids`.
    """
    gen = seeded_generator(6)
    cases = []
    for name, n, lq in (
        ("8 candidates, a 4-token query", 8, 4),
        ("3 candidates, a 1-token query", 3, 1),
        ("12 candidates of 1 to 20 tokens, a 6-token query", 12, 6),
    ):
        q = unit_vectors(lq, 8, gen=gen)
        lengths = torch.randint(1, 21, (n,), generator=gen).tolist()
        cands = {f"cand-{i:02d}": unit_vectors(L, 8, gen=gen) for i, L in enumerate(lengths)}
        scores = {did: maxsim(q, d) for did, d in cands.items()}
        pooled = {
            did: float(cosine_scores(q.mean(0, keepdim=True), d.mean(0, keepdim=True))) for did, d in cands.items()
        }
        expected = ranked_doc_ids(scores)
        cases.append(
            Case(
                name,
                (q, cands),
                expected,
                {
                    "the order is reversed: best (highest MaxSim) first.": expected[::-1],
                    "this is the pooled ranking (cosine of mean vectors); rerank by MaxSim of the token "
                    "vectors.": ranked_doc_ids(pooled),
                    "these are the candidates in their input order; sort them by MaxSim score.": list(cands),
                },
            )
        )
    run_check("check_rerank", fn, cases, compare_ids, "MaxSim order, best first")
