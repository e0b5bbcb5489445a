"""One search interface: every index returns lists of Hit, checks k in the same words, and run() agrees with search()."""
import pytest
import torch

from lateint import BM25, Hit, MaxSimIndex, PooledIndex
from lateint.metrics import check_k
from lateint.rerank import two_stage_search

IDS = ["a", "b", "c"]
TEXTS = ["the cat sat on the mat", "dogs chase cats in the park", "protein binding in cells"]


def _tokens(seed: int, n: int, length: int = 4, dim: int = 8) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.functional.normalize(torch.randn(length + i % 2, dim, generator=g), dim=-1) for i in range(n)]


@pytest.fixture(scope="module")
def indexes():
    docs, queries = _tokens(0, 3), _tokens(1, 2)
    pooled_docs = torch.stack([d.mean(0) for d in docs])
    pooled_queries = torch.stack([q.mean(0) for q in queries])
    maxsim, pooled = MaxSimIndex(IDS, docs), PooledIndex(IDS, pooled_docs)
    return {
        "bm25": (BM25(IDS, TEXTS).search, ["cat on a mat", "protein cells"]),
        "maxsim": (maxsim.search, queries),
        "pooled": (pooled.search, pooled_queries),
        "two_stage": (lambda q, k: two_stage_search(pooled, maxsim, pooled_queries, q, k=k, n_candidates=3), queries),
    }


@pytest.mark.parametrize("name", ["bm25", "maxsim", "pooled", "two_stage"])
def test_every_search_returns_hits_best_first(indexes, name):
    search, queries = indexes[name]
    for row in search(queries, 2):
        assert row and len(row) <= 2
        assert all(isinstance(h, Hit) and h.doc_id in IDS and isinstance(h.score, float) for h in row)
        assert [h.score for h in row] == sorted((h.score for h in row), reverse=True)
        doc_id, score = row[0]  # still a pair
        assert (doc_id, score) == row[0]


@pytest.mark.parametrize("name", ["bm25", "maxsim", "pooled", "two_stage"])
@pytest.mark.parametrize("k", [0, -1, 2.5, True, "3"])
def test_every_search_refuses_a_bad_k_in_the_same_words(indexes, name, k):
    search, queries = indexes[name]
    with pytest.raises(ValueError, match=r"k must be a whole number of at least 1 \(results per query\)"):
        search(queries, k)


def test_check_k_accepts_whole_numbers():
    assert check_k(3) == 3 and check_k(torch.tensor(3).numpy().item()) == 3
