"""Whole-document encoding: overlapping windows merged so every token keeps one vector (lateint.windows)."""
import pytest
import torch

from lateint.encoders import load_encoder
from lateint.windows import default_window, encode_cram, encode_whole, window_owners, window_spans

LONG = " ".join(f"fact{i} about protein {i % 7} binding" for i in range(40))  # a few hundred tokens


@pytest.fixture(scope="module")
def minilm():
    return load_encoder(device="cpu")


@pytest.fixture(scope="module")
def small():
    """all-MiniLM-L6-v2 with a 24-token document length: long documents are cheap to make."""
    return load_encoder(device="cpu", document_length=24)


def test_spans_cover_every_token_and_end_at_the_last():
    assert window_spans(5, 8, 4) == [(0, 5)]
    assert window_spans(20, 8, 4) == [(0, 8), (4, 12), (8, 16), (12, 20)]
    assert window_spans(21, 8, 4) == [(0, 8), (4, 12), (8, 16), (12, 20), (13, 21)]  # last moved back, full
    assert window_spans(16, 8, 8) == [(0, 8), (8, 16)]  # no overlap


@pytest.mark.parametrize("window, stride, match", [(0, 1, "window"), (8, 0, "stride"), (8, 9, "larger than the window"),
                                                    (8, 2.5, "stride")])
def test_bad_window_or_stride_is_refused(window, stride, match):
    with pytest.raises(ValueError, match=match):
        window_spans(100, window, stride)


@pytest.mark.parametrize("n, window, stride", [(1, 4, 2), (20, 8, 4), (21, 8, 4), (50, 10, 3), (30, 10, 10)])
def test_each_token_is_owned_by_the_window_where_it_is_most_central(n, window, stride):
    spans = window_spans(n, window, stride)
    owners = window_owners(spans, n)
    assert len(owners) == n
    for j, w in enumerate(owners):
        s, e = spans[w]
        assert s <= j < e
        central = [min(j - a, b - 1 - j) for a, b in spans if a <= j < b]
        assert min(j - s, e - 1 - j) == max(central)
        # ties go to the earlier window
        assert w == next(i for i, (a, b) in enumerate(spans) if a <= j < b and min(j - a, b - 1 - j) == max(central))


def test_a_document_that_fits_one_window_gets_exactly_encode_documents(minilm):
    docs = ["ColBERT keeps one vector per token.", "Short doc."]
    for got, ref in zip(encode_whole(minilm, docs), minilm.encode_documents(docs)):
        torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-4)


def test_colbert_format_short_document_matches_too(stanford_ckpt):
    enc = load_encoder(stanford_ckpt, device="cpu")
    docs = ["ColBERT keeps one vector per token; MaxSim sums the best matches!", "Short doc."]
    for got, ref in zip(encode_whole(enc, docs), enc.encode_documents(docs)):
        torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-4)


def test_long_document_keeps_every_token_with_its_central_window_vector(small):
    n_all = small.token_counts([LONG])[0]  # [CLS] + text + [SEP], uncut
    room = default_window(small)
    assert room == 22 and n_all > 5 * 24
    (got,) = encode_whole(small, [LONG], window=room, stride=11)
    assert got.shape == (n_all, small.dim)  # one vector per token, none lost, none twice
    # recompute token j's vector by hand from its owner window
    body = small.tokenizer(LONG, add_special_tokens=False)["input_ids"]
    spans = window_spans(len(body), room, 11)
    owners = window_owners(spans, len(body))
    cls, sep = small.tokenizer.cls_token_id, small.tokenizer.sep_token_id
    for j in (0, 5, 40, len(body) // 2, len(body) - 1):
        s, e = spans[owners[j]]
        ids = torch.tensor([[cls] + body[s:e] + [sep]])
        h = torch.nn.functional.normalize(small.token_states(ids, torch.ones_like(ids))[0], dim=-1)
        torch.testing.assert_close(got[1 + j], h[1 + j - s], atol=1e-5, rtol=1e-4)


def test_truncated_encoding_warns_with_how_much_was_cut(small):
    with pytest.warns(UserWarning, match=r"1 of 2 documents are longer than the 24-token limit .* tokens \(\d+ %\) are not seen"):
        small.encode_documents([LONG, "short"])


def test_cram_is_the_pooled_vector_for_a_short_document_and_averages_all_windows_for_a_long_one(small):
    short = ["a short sentence about proteins."]
    torch.testing.assert_close(encode_cram(small, short), small.encode_pooled(short), atol=1e-5, rtol=1e-4)
    raw = encode_whole(small, [LONG], normalize=False)[0]
    torch.testing.assert_close(encode_cram(small, [LONG])[0], torch.nn.functional.normalize(raw.mean(0), dim=0))


@pytest.mark.parametrize("bad", [[""], ["   \n"], ["ok", " "]])
def test_empty_documents_are_refused(small, bad):
    with pytest.raises(ValueError, match="empty or only whitespace"):
        encode_whole(small, bad)


def test_window_larger_than_the_model_holds_is_refused(small):
    with pytest.raises(ValueError, match="larger than the 22 text tokens"):
        encode_whole(small, [LONG], window=23)


def test_100k_token_document_is_encoded_in_bounded_batches(small, monkeypatch):
    """A 100,000-token document: every token gets a vector, and no forward pass sees more than
    batch_size windows of the model's length (the model is replaced by a cheap lookup to keep this fast; the real model's time and memory on such a
    document: ``python benchmarks/long_docs.py --part huge``)."""
    seen = []
    table = torch.randn(small.tokenizer.vocab_size, small.dim)

    def fake_states(ids, mask):
        seen.append(tuple(ids.shape))
        return table[ids] + ids.shape[1]  # depends on the window, like a real model

    monkeypatch.setattr(small, "token_states", fake_states)
    text = "word " * 100_000
    (got,) = encode_whole(small, [text], batch_size=64)
    assert got.shape == (100_002, small.dim)
    assert max(b for b, _ in seen) <= 64 and max(L for _, L in seen) <= 24
    assert sum(b for b, _ in seen) == len(window_spans(100_000, 22, 11))


def test_colbert_format_long_document_keeps_marker_and_every_kept_token(stanford_ckpt):
    enc = load_encoder(stanford_ckpt, device="cpu", document_length=24)
    text = LONG + " , ; ."  # punctuation: on the checkpoint's skiplist, dropped as encode_documents drops it
    (got,) = encode_whole(enc, [text], stride=7)
    n_punct = 3
    assert got.shape == (enc.token_counts([text])[0] - n_punct, enc.dim)  # [CLS] [D] text [SEP], punctuation out
    (short,) = enc.encode_documents(["fact0 about protein 0 binding"])
    torch.testing.assert_close(encode_whole(enc, ["fact0 about protein 0 binding"])[0], short, atol=1e-5, rtol=1e-4)
