"""Candidate generation, then MaxSim re-ranking: late interaction at a fraction of the cost.

Scoring every document by MaxSim costs ``Lq x Ld`` dot products per document. Real
engines first pick a few hundred candidates cheaply (here: one pooled vector per
document, one dot product each; PLAID uses centroids instead), then re-rank only
those by MaxSim::

    hits = two_stage_search(pooled_index, maxsim_index, pooled_queries, token_queries,
                            k=10, n_candidates=100)

The answer can only differ from exhaustive MaxSim when a document MaxSim would put
in the top ``k`` is missing from the pooled top ``n_candidates``;
``benchmarks/candidates.py`` measures how often, and the time saved.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .index import MaxSimIndex, PooledIndex, maxsim_scores
from .metrics import Hit, check_k

__all__ = ["rerank", "two_stage_search"]


def rerank(index: MaxSimIndex, queries: Sequence[torch.Tensor], candidates: torch.Tensor) -> torch.Tensor:
    """MaxSim of each query against its own candidate documents only.

    Args:
        index: the documents' token vectors.
        queries: ``nq`` query token matrices ``(Lq_i, dim)``.
        candidates: ``(nq, c)`` document positions in ``index`` (row ``i`` for query ``i``).

    Returns:
        ``(nq, c)`` float32 scores, ``scores[i, j]`` for document ``candidates[i, j]``.
    """
    if not isinstance(candidates, torch.Tensor) or candidates.dim() != 2 or candidates.shape[0] != len(queries):
        raise ValueError(
            f"candidates must be a (n_queries, c) tensor of document positions with one row per query "
            f"({len(queries)}), got {getattr(candidates, 'shape', type(candidates).__name__)}."
        )
    if candidates.numel() and (candidates.min() < 0 or candidates.max() >= len(index)):
        raise ValueError(f"candidates hold positions outside 0..{len(index) - 1}, the index's documents.")
    rows = [maxsim_scores(q.to(index.vectors.dtype).unsqueeze(0), index.batch(row))[0] for q, row in zip(queries, candidates)]
    return torch.stack(rows)


def two_stage_search(
    pooled: PooledIndex,
    index: MaxSimIndex,
    pooled_queries: torch.Tensor,
    token_queries: Sequence[torch.Tensor],
    k: int = 10,
    n_candidates: int = 100,
) -> list[list[Hit]]:
    """Top ``k`` by MaxSim among the top ``n_candidates`` by pooled cosine, per query.

    Args:
        pooled, index: the same documents (same ids, same order) as pooled vectors and as token vectors.
        pooled_queries: ``(nq, dim)`` pooled query vectors.
        token_queries: ``nq`` query token matrices ``(Lq_i, dim)``.

    Returns:
        For each query, :class:`~lateint.metrics.Hit` ``(doc_id, maxsim_score)`` s best first, like ``MaxSimIndex.search``.
    """
    if pooled.doc_ids != index.doc_ids:
        raise ValueError("The pooled index and the MaxSim index must hold the same documents in the same order.")
    if len(token_queries) != len(pooled_queries):
        raise ValueError(f"{len(pooled_queries)} pooled queries but {len(token_queries)} token queries.")
    if not check_k(k) <= n_candidates:
        raise ValueError(f"Need 1 <= k <= n_candidates, got k={k}, n_candidates={n_candidates}.")
    n_candidates = min(n_candidates, len(index))
    candidates = pooled.scores(pooled_queries).topk(n_candidates, dim=1).indices  # (nq, c)
    return index.hits(rerank(index, token_queries, candidates), k, candidates)
