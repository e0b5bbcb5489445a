"""MaxSim: the readable reference, the batched path, and explanations agree."""
import pytest
import torch
from helpers import ragged

import lateint
from lateint.index import maxsim_flat, maxsim_scores
from lateint.similarity import cosine_scores, explain, maxsim, maxsim_batch, pad


def test_reference_by_hand():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    d = torch.tensor([[0.6, 0.8], [1.0, 0.0], [0.0, -1.0]])
    # token 1 best matches d[1] (1.0), token 2 best matches d[0] (0.8)
    assert maxsim(q, d) == pytest.approx(1.8)
    assert maxsim(q[:1], d) == pytest.approx(1.0)  # one query token, one best match
    assert maxsim(d[2:], q) == pytest.approx(0.0)  # [0,-1] vs [1,0] and [0,1]: best is 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batched_equals_reference_on_ragged_data(seed):
    gen = torch.Generator().manual_seed(seed)
    queries = ragged(7, 1, 12, 24, gen)
    docs = ragged(23, 1, 40, 24, gen)
    expected = torch.tensor([[maxsim(q, d) for d in docs] for q in queries])
    got = maxsim_scores(queries, docs)
    assert got.shape == (7, 23)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    # tiny chunks exercise the chunking loop
    Q, qm = pad(queries)
    D, dm = pad(docs)
    torch.testing.assert_close(maxsim_scores(Q, D, qm, dm, chunk_bytes=1), expected, atol=1e-5, rtol=1e-5)
    # the readable batched version, on the same padded batches, and with 0/1 integer masks
    torch.testing.assert_close(maxsim_batch(Q, D, qm, dm), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(maxsim_batch(Q, D, qm.long(), dm.int()), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(maxsim_scores(Q, D, qm.long(), dm.int()), expected, atol=1e-5, rtol=1e-5)


def test_flat_storage_equals_reference_wherever_blocks_cut_documents(monkeypatch):
    """maxsim_flat, the index's kernel: the same scores as the reference whether a block of rows holds many
    documents or cuts them anywhere (3 rows, or 1, against documents of up to 40 tokens), padded query tokens
    add nothing, and a best match that is negative stays negative (no padding to win). The index scores
    through it, in one pass or in many when its memory for best matches is small."""
    gen = torch.Generator().manual_seed(8)
    queries, docs = ragged(5, 1, 9, 16, gen), ragged(17, 1, 40, 16, gen)
    docs[3] = -queries[0][:1].repeat(4, 1)  # every token of document 3 is the opposite of query 0's first
    queries[0] = queries[0][:1]
    expected = torch.tensor([[maxsim(q, d) for d in docs] for q in queries])
    assert expected[0, 3].item() == pytest.approx(-1.0)
    Q, qm = pad(queries)
    Q = Q.masked_fill(~qm.unsqueeze(-1), 1.0)  # padded query positions hold junk: only the mask keeps them out
    flat, lengths = torch.cat(docs), torch.tensor([len(d) for d in docs])
    row_bytes = Q.shape[0] * Q.shape[1] * 4  # one document token's similarities
    for chunk_bytes in (1, 3 * row_bytes, 8 * 2**20):
        got = maxsim_flat(Q, flat, lengths, qm, chunk_bytes=chunk_bytes)
        assert got.shape == (5, 17) and got.dtype == torch.float32
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(maxsim_flat(Q, flat, lengths), expected)  # without q_mask, the junk counts
    index = lateint.MaxSimIndex([str(i) for i in range(17)], docs)
    one_pass = index.scores(queries)
    torch.testing.assert_close(one_pass, expected, atol=1e-5, rtol=1e-5)
    monkeypatch.setattr(lateint.index, "_BEST_BYTES", 1)  # one document per pass
    assert torch.equal(index.scores(queries), one_pass)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: maxsim_flat(torch.zeros(1, 2, 3), torch.zeros(5, 3), torch.tensor([2, 2])), "sum of lengths"),
        (lambda: maxsim_flat(torch.zeros(1, 2, 3), torch.zeros(4, 2), torch.tensor([2, 2])), "sum of lengths"),
        (lambda: maxsim_flat(torch.zeros(1, 2, 3), torch.zeros(4, 3).bfloat16(), torch.tensor([2, 2])), "cast both to the same dtype"),
    ],
)
def test_flat_storage_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_readable_batch_is_a_few_lines():
    import inspect

    body = inspect.getsource(maxsim_batch).split('"""')[-1]
    assert len([line for line in body.splitlines() if line.strip()]) <= 6  # what a learner reads in class


def test_empty_query_or_document_refused_the_same_way_everywhere():
    q, d = torch.ones(2, 3), torch.ones(4, 3)
    Q, qm = pad([q, q])
    D, dm = pad([d, d])
    dm[1] = False  # document 1 has no real token
    qm0 = qm.clone()
    qm0[0] = False  # query 0 has no real token
    for call in (
        lambda: maxsim(q, torch.ones(0, 3)),
        lambda: maxsim_batch(Q, D, qm, dm),
        lambda: maxsim_scores(Q, D, qm, dm),
        lambda: maxsim_batch(Q, D, qm0, None),
        lambda: maxsim_scores(Q, D, qm0, None),
        lambda: maxsim_scores([q], [d, torch.ones(0, 3)]),
        lambda: lateint.MaxSimIndex(["a", "b"], [d, torch.ones(0, 3)]),
        lambda: lateint.MaxSimIndex(["a"], [d]).scores([torch.ones(0, 3)]),
    ):
        with pytest.raises(ValueError, match="no real token|no token vectors|non-empty"):
            call()


def test_padding_never_wins_and_never_adds():
    q = torch.tensor([[1.0, 0.0]])
    d = torch.tensor([[-1.0, 0.0]])
    # Padding rows are zeros: unmasked, a zero row (score 0) would beat the real -1.
    Q, qm = pad([q], length=4)
    D, dm = pad([d], length=5)
    assert maxsim_scores(Q, D, qm, dm).item() == pytest.approx(-1.0)
    assert maxsim_scores(Q, D).item() == pytest.approx(0.0 * 4)  # the bug the masks prevent
    # padded query positions would add their best match if unmasked
    Q2 = torch.ones(1, 3, 2)
    qm2 = torch.tensor([[True, False, False]])
    D2 = torch.tensor([[[1.0, 1.0]]])
    assert maxsim_scores(Q2, D2, qm2).item() == pytest.approx(2.0)
    assert maxsim_scores(Q2, D2).item() == pytest.approx(6.0)


def test_bf16_close_to_fp32():
    gen = torch.Generator().manual_seed(3)
    queries, docs = ragged(3, 2, 8, 16, gen), ragged(5, 2, 20, 16, gen)
    Q, qm = pad(queries)
    D, dm = pad(docs)
    full = maxsim_scores(Q, D, qm, dm)
    half = maxsim_scores(Q.bfloat16(), D.bfloat16(), qm, dm)
    assert half.dtype == torch.float32
    torch.testing.assert_close(half, full, atol=0.1, rtol=0.02)


def test_explain_sums_to_score_and_names_tokens():
    gen = torch.Generator().manual_seed(4)
    q, d = ragged(1, 5, 5, 8, gen)[0], ragged(1, 9, 9, 8, gen)[0]
    rows = explain(q, d, [f"q{i}" for i in range(5)], [f"d{j}" for j in range(9)])
    assert len(rows) == 5
    assert sum(r.similarity for r in rows) == pytest.approx(maxsim(q, d), abs=1e-5)
    for r in rows:
        assert r.doc_token == f"d{r.doc_position}"
        assert r.similarity == pytest.approx((d @ q[r.query_position]).max().item(), abs=1e-6)
        assert r.similarity == pytest.approx((q[r.query_position] @ d[r.doc_position]).item(), abs=1e-6)


def test_cosine_scores():
    a = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    b = torch.tensor([[2.0, 0.0], [0.0, 5.0]])
    s = cosine_scores(a, b)
    torch.testing.assert_close(s, torch.tensor([[1.0, 0.0], [2**-0.5, 2**-0.5]]))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: maxsim(torch.zeros(3), torch.zeros(2, 3)), "2-D tensor"),
        (lambda: maxsim(torch.zeros(2, 3), torch.zeros(2, 4)), "different sizes"),
        (lambda: maxsim(torch.zeros(0, 3), torch.zeros(2, 3)), "no token vectors"),
        (lambda: maxsim([[1.0]], torch.zeros(2, 1)), "2-D tensor"),
        (lambda: maxsim_scores(torch.zeros(2, 3), torch.zeros(1, 2, 3)), "3-D padded batch"),
        (lambda: maxsim_scores(torch.zeros(1, 2, 3), torch.zeros(1, 2, 4)), "different sizes"),
        (lambda: maxsim_scores(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), q_mask=torch.ones(1, 3, dtype=torch.bool)), "tensor of shape"),
        (lambda: maxsim_scores(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), d_mask=torch.full((1, 2), 0.5)), "0/1"),
        (lambda: maxsim_batch(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), d_mask=torch.tensor([[2, 1]])), "0/1"),
        (lambda: maxsim_batch(torch.zeros(1, 2, 3), torch.zeros(1, 2, 4)), "different sizes"),
        (lambda: maxsim_scores(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3, dtype=torch.float64)), "same dtype"),
        (lambda: pad([]), "empty list"),
        (lambda: pad([torch.zeros(3, 2)], length=2), "shorter"),
        (lambda: explain(torch.ones(2, 3), torch.ones(4, 3), query_tokens=["a"]), "align"),
        (lambda: cosine_scores(torch.zeros(2, 2, 2), torch.zeros(2, 2)), "2-D tensor"),
    ],
)
def test_bad_input_gets_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_public_api_exports():
    assert lateint.maxsim is maxsim and lateint.maxsim_scores is maxsim_scores and lateint.maxsim_batch is maxsim_batch
    for name in lateint.__all__:
        assert getattr(lateint, name) is not None, name
