"""lateint.maxsim_scores on documents of very different lengths and many queries: nothing is padded,
memory stays bounded, and the scores are the reference maxsim's."""
import pytest
import torch

import lateint.index as index
from lateint import maxsim, maxsim_scores


def unit(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(*shape, generator=g), dim=-1)


def test_one_very_long_document_among_short_ones(monkeypatch):
    """A list of documents is scored flat: no block of similarities exceeds the budget and no document
    is padded to the longest, however long the longest (it is cut across blocks)."""
    dim = 8
    docs = [unit(int(n), dim, seed=i) for i, n in enumerate(torch.randint(1, 20, (60,), generator=torch.Generator().manual_seed(1)))]
    docs.insert(17, unit(20_000, dim, seed=99))  # one document 1,000 times longer than the others
    queries = [unit(5, dim, seed=200), unit(9, dim, seed=201)]
    blocks = []
    real_mm = torch.mm
    monkeypatch.setattr(index.torch, "mm", lambda a, b, **k: blocks.append(a.shape[0] * b.shape[1]) or real_mm(a, b, **k))
    budget = 2 * 9 * 4 * 1024  # a block: 1,024 document tokens by both queries' 9 tokens (float32)
    got = maxsim_scores(queries, docs, chunk_bytes=budget)
    monkeypatch.undo()
    want = torch.tensor([[maxsim(q, d) for d in docs] for q in queries])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert max(blocks) * 4 <= budget  # no block over the budget, the 20,000-token document included
    assert sum(blocks) == 2 * 9 * sum(len(d) for d in docs)  # every document token once: none padded
    monkeypatch.setattr(index, "_GROUP_BYTES", 20 * dim * 4)  # the list concatenated 20 tokens at a time at most
    torch.testing.assert_close(maxsim_scores(queries, docs, chunk_bytes=budget), want, atol=1e-5, rtol=1e-5)


def test_long_document_in_a_padded_batch_is_cut_and_still_exact():
    dim = 4
    D = torch.zeros(3, 500, dim)
    mask = torch.zeros(3, 500, dtype=torch.bool)
    for i, n in enumerate((500, 3, 250)):
        D[i, :n], mask[i, :n] = unit(n, dim, seed=i), True
    D[1, 3:] = 5.0  # junk in the padding: only the mask keeps it out
    Q = unit(2, 6, dim, seed=7)
    got = maxsim_scores(Q, D, d_mask=mask, chunk_bytes=6 * 2 * 4 * 16)  # a block holds 16 document tokens
    want = torch.tensor([[maxsim(q, D[j, : int(mask[j].sum())]) for j in range(3)] for q in Q])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_empty_document_in_a_list_is_refused():
    with pytest.raises(ValueError, match=r"D\[1\] has no token vectors"):
        maxsim_scores([unit(3, 4)], [unit(2, 4), torch.zeros(0, 4)])
    with pytest.raises(ValueError, match=r"D\[0\] has dim 5 but the queries have dim 4"):
        maxsim_scores([unit(3, 4)], [unit(2, 5)])


def test_many_queries_are_scored_in_batches_and_documents_in_passes(monkeypatch):
    """Too many query tokens for one block: queries go in batches, longest first, each cut to its own longest
    query; too many best matches for memory: documents go in passes. The scores are the reference's."""
    dim, g = 8, torch.Generator().manual_seed(3)
    queries = [unit(int(n), dim, seed=100 + i) for i, n in enumerate(torch.randint(3, 13, (40,), generator=g))]
    docs = [unit(int(n), dim, seed=i) for i, n in enumerate(torch.randint(1, 301, (25,), generator=g))]
    passes = []
    real = index._flat_pass
    monkeypatch.setattr(index, "_flat_pass", lambda Q, *a: passes.append((Q.shape[0], Q.shape[1], a[-2])) or real(Q, *a))
    monkeypatch.setattr(index, "_BEST_BYTES", 10 * 5 * 12 * 4)  # 10 documents' best matches of 5 queries of 12 tokens
    monkeypatch.setattr(index, "_BLOCK_ROWS", 300)
    budget = 12 * 4 * 300 * 5  # a block: 5 queries of 12 tokens by 300 document tokens
    got = index.maxsim_scores(queries, docs, chunk_bytes=budget)
    want = torch.tensor([[maxsim(q, d) for d in docs] for q in queries])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert all(n * L * 300 * 4 <= budget for n, L, _ in passes)  # each batch's block holds 300 document tokens
    assert any(L < 12 for _, L, _ in passes)  # short queries are not padded to the longest
    assert all(n * L * docs_ * 4 <= 10 * 5 * 12 * 4 for n, L, docs_ in passes)  # best matches within the budget
    batches = {}
    for n, L, docs_ in passes:
        batches.setdefault((n, L), []).append(docs_)
    assert all(sum(d) == 25 for d in batches.values()) and max(len(d) for d in batches.values()) > 1
