"""Candidate generation then MaxSim re-ranking agrees with exhaustive MaxSim where it should."""
import pytest
import torch
from helpers import ragged

from lateint.index import MaxSimIndex, PooledIndex
from lateint.similarity import maxsim
from lateint.rerank import rerank, two_stage_search


def corpus(n_docs=60, n_queries=5, dim=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    docs = ragged(n_docs, 3, 19, dim, g)
    queries = [torch.nn.functional.normalize(torch.randn(4, dim, generator=g), dim=-1) for _ in range(n_queries)]
    ids = [f"d{i}" for i in range(n_docs)]
    pooled_docs = torch.stack([d.mean(0) for d in docs])
    pooled_queries = torch.stack([q.mean(0) for q in queries])
    return ids, docs, queries, MaxSimIndex(ids, docs), PooledIndex(ids, pooled_docs), pooled_queries


def test_rerank_scores_are_maxsim_of_the_candidates():
    _, docs, queries, index, _, _ = corpus()
    cand = torch.tensor([[3, 7, 1], [0, 59, 12], [5, 5, 6], [2, 4, 8], [9, 10, 11]])
    got = rerank(index, queries, cand)
    want = torch.tensor([[maxsim(q, docs[j]) for j in row] for q, row in zip(queries, cand.tolist())])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_all_candidates_equals_exhaustive_and_few_can_differ():
    ids, _, queries, index, pooled, pq = corpus()
    exhaustive = index.search(queries, k=5)
    everything = two_stage_search(pooled, index, pq, queries, k=5, n_candidates=len(ids))
    for a, b in zip(exhaustive, everything):
        assert [d for d, _ in a] == [d for d, _ in b]
        assert [s for _, s in a] == pytest.approx([s for _, s in b], abs=1e-5)
    few = two_stage_search(pooled, index, pq, queries, k=5, n_candidates=5)
    pooled_top = pooled.search(pq, k=5)
    for f, p in zip(few, pooled_top):
        assert {d for d, _ in f} == {d for d, _ in p}  # same 5 documents, re-ordered by MaxSim
        assert [s for _, s in f] == sorted([s for _, s in f], reverse=True)
    # with 5 random candidates out of 60, some query misses one of its exhaustive top 5
    assert any({d for d, _ in f} != {d for d, _ in e} for f, e in zip(few, exhaustive))


def test_bad_input():
    ids, _, queries, index, pooled, pq = corpus()
    with pytest.raises(ValueError, match="one row per query"):
        rerank(index, queries, torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="outside"):
        rerank(index, queries, torch.full((5, 1), 60))
    with pytest.raises(ValueError, match="k <= n_candidates"):
        two_stage_search(pooled, index, pq, queries, k=10, n_candidates=5)
    other = PooledIndex(ids[::-1], torch.zeros(60, 16))
    with pytest.raises(ValueError, match="same documents"):
        two_stage_search(other, index, pq, queries)
