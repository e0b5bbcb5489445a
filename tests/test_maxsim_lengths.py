"""lateint.maxsim_scores with a list of documents: length groups within a memory budget, equal to maxsim."""
import pytest
import torch

import lateint.index as index
from lateint import maxsim, maxsim_scores
from lateint.index import length_groups


def unit(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(*shape, generator=g), dim=-1)


def test_length_groups_cover_every_document_once_within_the_budget():
    lengths = [5, 300, 7, 7, 40, 1, 12, 300, 2]
    groups = length_groups(lengths, dim=4, pad_bytes=4 * 4 * 64)  # 64 padded token vectors
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    for g in groups:
        longest = max(lengths[i] for i in g)
        assert len(g) == 1 or len(g) * longest <= 64  # only a document bigger than the budget goes alone
        assert lengths[g[0]] == longest
    with pytest.raises(ValueError, match="pad_bytes"):
        length_groups(lengths, 4, 0)


def test_one_very_long_document_among_short_ones(monkeypatch):
    """Scores equal the reference maxsim, and no padded group exceeds the budget whatever the longest document."""
    dim = 8
    docs = [unit(int(n), dim, seed=i) for i, n in enumerate(torch.randint(1, 20, (60,), generator=torch.Generator().manual_seed(1)))]
    docs.insert(17, unit(20_000, dim, seed=99))  # one document 1,000 times longer than the others
    queries = [unit(5, dim, seed=200), unit(9, dim, seed=201)]
    padded = []
    real_pad = index.pad
    monkeypatch.setattr(index, "pad", lambda v, *a: padded.append((len(v), max(len(x) for x in v))) or real_pad(v, *a))
    budget = 32 * 20 * dim * 4  # 32 documents of 20 tokens
    got = maxsim_scores(queries, docs, pad_bytes=budget, chunk_bytes=4096)
    want = torch.tensor([[maxsim(q, d) for d in docs] for q in queries])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    groups = padded[1:]  # the first pad() call is the queries'
    assert sum(n for n, _ in groups) == len(docs)
    assert all(n * L * dim * 4 <= budget for n, L in groups if n > 1)
    assert (1, 20_000) in groups  # the long one alone, not padding the others


def test_long_document_in_a_padded_batch_is_sliced_and_still_exact():
    dim = 4
    D = torch.zeros(3, 500, dim)
    mask = torch.zeros(3, 500, dtype=torch.bool)
    for i, n in enumerate((500, 3, 250)):
        D[i, :n], mask[i, :n] = unit(n, dim, seed=i), True
    Q = unit(2, 6, dim, seed=7)
    got = maxsim_scores(Q, D, d_mask=mask, chunk_bytes=6 * 2 * 4 * 16)  # a block holds 16 document tokens
    want = torch.tensor([[maxsim(q, D[j, : int(mask[j].sum())]) for j in range(3)] for q in Q])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_empty_document_in_a_list_is_refused():
    with pytest.raises(ValueError, match=r"D\[1\] has no token vectors"):
        maxsim_scores([unit(3, 4)], [unit(2, 4), torch.zeros(0, 4)])


def test_many_queries_are_scored_in_batches_and_still_exact(monkeypatch):
    """Too many query tokens for one block: queries go in batches, longest first, each cut to its own longest
    query and sized to the block; the scores are the reference's."""
    dim, g = 8, torch.Generator().manual_seed(3)
    queries = [unit(int(n), dim, seed=100 + i) for i, n in enumerate(torch.randint(3, 13, (40,), generator=g))]
    docs = [unit(int(n), dim, seed=i) for i, n in enumerate(torch.randint(1, 301, (25,), generator=g))]
    calls = []
    real = index.maxsim_scores
    monkeypatch.setattr(index, "maxsim_scores", lambda Q, D, *a, **k: calls.append((len(Q), Q[0].shape[0] if isinstance(Q, list) else Q.shape[1], D.shape[1] if isinstance(D, torch.Tensor) else 0)) or real(Q, D, *a, **k))
    budget = 12 * 4 * 300 * 5  # a block: 5 queries of 12 tokens by 300 document tokens
    got = index.maxsim_scores(queries, docs, chunk_bytes=budget)
    want = torch.tensor([[maxsim(q, d) for d in docs] for q in queries])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    groups = [c for c in calls[1:] if c[0] == len(queries)]  # calls[0]: the list; then each length group
    batches = [c for c in calls if c[0] < len(queries)]
    assert groups and sum(n for n, _, _ in batches) == len(groups) * len(queries)
    assert all(n * L * Ld * 4 <= budget for n, L, Ld in batches)  # each batch's block within the budget
    assert any(L < 12 for _, L, _ in batches)  # short queries are not padded to the longest
