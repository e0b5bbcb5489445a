"""Checks for exercise 00 setup (``notebooks/exercises/00_*.ipynb``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import torch

from ..metrics import ndcg_at_k
from ..similarity import cosine_scores
from .harness import (
    SEED,
    Case,
    compare_number,
    compare_tensor,
    run_check,
    seeded_generator,
)


def check_cosine_scores(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(queries (nq, dim), docs (nd, dim)) -> (nq, nd)`` cosine similarities.

    Reference: :func:`lateint.similarity.cosine_scores`. The hidden vectors are NOT unit
    length, so a plain dot product is caught.
    """
    gen = seeded_generator(0)
    cases = []
    for name, nq, nd in (
        ("3 queries x 5 documents, vectors of very different lengths", 3, 5),
        ("1 query x 4 documents", 1, 4),
        ("4 queries x 4 documents (square, so a transposed answer has the right shape)", 4, 4),
    ):
        q = torch.randn(nq, 8, generator=gen) * torch.rand(nq, 1, generator=gen).mul(10).add(0.1)
        d = torch.randn(nd, 8, generator=gen) * torch.rand(nd, 1, generator=gen).mul(10).add(0.1)
        qn, dn = (torch.nn.functional.normalize(x, dim=-1) for x in (q, d))
        expected = cosine_scores(q, d)
        cases.append(
            Case(
                name,
                (q, d),
                expected,
                {
                    "these are dot products of the raw vectors, not cosines: divide each vector by its length "
                    "first (torch.nn.functional.normalize(x, dim=-1)).": q @ d.T,
                    "only the documents were normalised; normalise the queries too.": q @ dn.T,
                    "only the queries were normalised; normalise the documents too.": qn @ d.T,
                    "normalised along the wrong axis: each ROW is one vector, so normalise with dim=-1 (not dim=0).": torch.nn.functional.normalize(
                        q, dim=0
                    )
                    @ torch.nn.functional.normalize(d, dim=0).T,
                    "the answer is transposed: rows must be queries and columns documents (queries @ docs.T).": expected.T,
                },
            )
        )
    run_check("check_cosine_scores", fn, cases, compare_tensor("(n_queries, n_docs)"), "cosines, shapes, orientation")


def _ndcg_variant(
    ranked: Sequence[str],
    rels: Mapping[str, int],
    *,
    cut: int | None = 10,
    ideal_cut: int | None = 10,
    gain: Callable[[int], float] = float,
    offset: int = 1,
    ideal_from_run: bool = False,
    divide: bool = True,
) -> float:
    """nDCG computed with one of the usual slips; ``offset`` shifts the rank in log2(rank + offset)."""
    gains = [gain(max(rels.get(d, 0), 0)) for d in ranked[:cut]]
    pool = [max(rels.get(d, 0), 0) for d in ranked] if ideal_from_run else [g for g in rels.values() if g > 0]
    ideal = [gain(g) for g in sorted(pool, reverse=True)[:ideal_cut]]
    disc = lambda gs: sum(g / math.log2(r + offset) for r, g in enumerate(gs, start=1))
    if not divide:
        return disc(gains)
    return disc(gains) / disc(ideal) if disc(ideal) > 0 else 0.0


def check_ndcg_at_10(fn: Callable[[Sequence[str], Mapping[str, int]], float]) -> None:
    """Check ``fn(ranked_ids, rels) -> float``: nDCG@10 of one query.

    ``ranked_ids`` is the retrieved doc ids, best first; ``rels`` maps doc id -> grade
    (0 = judged not relevant). Reference: :func:`lateint.metrics.ndcg_at_k` with k=10
    (gain = grade, discount log2(rank + 1), ideal = the judgements sorted by grade).
    """
    rng = torch.Generator().manual_seed(SEED + 1)
    ids = [f"doc{i}" for i in range(30)]
    shuffled = [ids[i] for i in torch.randperm(30, generator=rng).tolist()]
    grades = torch.randint(0, 3, (30,), generator=rng).tolist()
    specs = [
        ("the only relevant document is at rank 1", ids[:10], {"doc0": 1}),
        ("the only relevant document is at rank 3", ids[:10], {"doc2": 1}),
        (
            "graded judgements (2 = answers it, 1 = related) found at ranks 2, 5 and 8, in the wrong order",
            ids[:10],
            {"doc1": 1, "doc4": 2, "doc7": 2},
        ),
        ("one relevant document at rank 4 and one at rank 12, past the cut-off", ids[:15], {"doc3": 1, "doc11": 1}),
        ("12 relevant documents (more than 10), retrieved in the best order", ids[:15], {d: 1 for d in ids[:12]}),
        ("only 4 documents retrieved; one relevant document was never retrieved", ids[:4], {"doc1": 2, "doc29": 2}),
        (
            "judged documents with grade 0 (not relevant) among the relevant ones",
            ids[:10],
            {"doc0": 0, "doc1": 0, "doc2": 1, "doc5": 0, "doc6": 2},
        ),
        ("no relevant document in the judgements at all: nDCG is 0, not an error", ids[:10], {"doc0": 0}),
        ("30 retrieved documents in random order, random grades 0-2", shuffled, dict(zip(ids, grades))),
    ]
    cases = []
    for name, ranked, rels in specs:
        expected = ndcg_at_k(ranked, rels, 10)
        cases.append(
            Case(
                name,
                (ranked, rels),
                expected,
                {
                    "this is the DCG alone: divide it by the ideal DCG (the best possible ranking's DCG).": _ndcg_variant(
                        ranked, rels, divide=False
                    ),
                    "no cut-off: only the top 10 retrieved documents count towards nDCG@10.": _ndcg_variant(
                        ranked, rels, cut=None, ideal_cut=None
                    ),
                    "the ideal DCG must also stop at 10 documents (the best possible top 10).": _ndcg_variant(
                        ranked, rels, ideal_cut=None
                    ),
                    "the ideal ranking was built from the retrieved list only; build it from ALL judged relevant "
                    "documents in rels, retrieved or not.": _ndcg_variant(ranked, rels, ideal_from_run=True),
                    "the gain should be the grade itself, not 2**grade - 1 (the course, trec_eval and BEIR use the "
                    "grade).": _ndcg_variant(ranked, rels, gain=lambda g: 2**g - 1),
                    "every relevant document got gain 1; use its grade (rels[doc]) as the gain.": _ndcg_variant(
                        ranked, rels, gain=lambda g: float(g > 0)
                    ),
                    "the discount is off by one rank: rank 1 (the top) is divided by log2(1 + 1) = 1, so use "
                    "log2(rank + 1) with rank starting at 1.": _ndcg_variant(ranked, rels, offset=2),
                },
            )
        )
    run_check("check_ndcg_at_10", fn, cases, compare_number, "gains, discount, ideal ranking, cut-off, no relevant docs")
