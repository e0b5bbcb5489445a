"""Encoder behaviours fixed in the encoders/checkpoints split (issue #10): pooled queries, [UNK] and the
skiplist, PyLate's residual Dense layers, Stanford defaults, one tokenizer call per encode, mask types."""
import json
import shutil
import string
import warnings

import pytest
import torch
from safetensors.torch import load_file, save_file

from helpers import make_pylate_colbert, pylate_reference_encode
from lateint.cache import encode
from lateint.checkpoints import read_checkpoint, skiplist_ids
from lateint.encoders import EncoderLoadError, load_encoder

QUERIES = ["what is late interaction?", "a much longer query about many different things, which will be cut at the query length"]
DOCS = ["ColBERT keeps one vector per token; MaxSim sums the best matches!", "Short doc.", "word " * 60]


@pytest.fixture(scope="module")
def minilm(encoder):
    return encoder


def assert_same(got, ref):
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        assert g.shape == r.shape
        torch.testing.assert_close(g, r, atol=1e-5, rtol=1e-4)


def copy_with_config(src, dest, file, **changes):
    """A copy of checkpoint ``src`` with ``changes`` written into its JSON ``file``."""
    shutil.copytree(src, dest)
    cfg = json.loads((dest / file).read_text())
    (dest / file).write_text(json.dumps({**cfg, **changes}))
    return dest


# ------------------------------------------------------------------ pooled queries


def test_pooled_query_is_tokenized_as_a_query(stanford_ckpt, stanford_ckpt_attend):
    # [CLS] [Q] hello world [SEP] + 7 [MASK]s: the [MASK]s are kept but, here, not attended to
    enc = load_encoder(stanford_ckpt)
    raw = enc.encode_queries(["hello world"], normalize=False)[0]
    assert enc.query_tokens(["hello world"])[0][:5] == ["[CLS]", "[Q]", "hello", "world", "[SEP]"] and len(raw) == 12
    pooled = enc.encode_pooled(["hello world"], is_query=True, normalize=False)[0]
    torch.testing.assert_close(pooled, raw[:5].mean(0))
    # by default a text is pooled as a document: [D], no [MASK]s (no punctuation here, so every token is kept)
    as_doc = enc.encode_pooled(["hello world"], normalize=False)[0]
    torch.testing.assert_close(as_doc, enc.encode_documents(["hello world"], normalize=False)[0].mean(0))
    assert (pooled - as_doc).abs().max() > 1e-2
    # attend_to_mask_tokens: all 12 query vectors are attended, so all enter the mean
    attend = load_encoder(stanford_ckpt_attend)
    with pytest.warns(UserWarning, match="queries are longer"):
        pooled = attend.encode_pooled(QUERIES, is_query=True, normalize=False)
    with pytest.warns(UserWarning, match="queries are longer"):
        raw = attend.encode_queries(QUERIES, normalize=False)
    torch.testing.assert_close(pooled, torch.stack([q.mean(0) for q in raw]))


def test_pooled_query_of_a_plain_encoder_is_the_document_vector(minilm):
    assert torch.equal(minilm.encode_pooled(QUERIES, is_query=True), minilm.encode_pooled(QUERIES))


def test_pooled_queries_through_the_cache(stanford_ckpt, tmp_path):
    enc = load_encoder(stanford_ckpt)
    with pytest.warns(UserWarning, match="1 of 2 queries are longer than the 12-token limit"):
        fresh = encode(enc, QUERIES, "pooled", path=tmp_path, is_query=True)
    with pytest.warns(UserWarning):
        torch.testing.assert_close(fresh, enc.encode_pooled(QUERIES, is_query=True))
    with pytest.warns(UserWarning, match="1 of 2 queries are longer"):  # a cache hit warns the same way
        assert torch.equal(encode(enc, QUERIES, "pooled", path=tmp_path, is_query=True), fresh)
    as_docs = encode(enc, QUERIES, "pooled", path=tmp_path)  # 40 document tokens: nothing cut
    assert not torch.allclose(as_docs, fresh, atol=1e-3)  # a separate cache entry


# ------------------------------------------------------------------ [UNK] and the skiplist


def test_skiplist_word_missing_from_the_vocabulary_keeps_unk(pylate_ckpt, tmp_path, minilm):
    text = "snow \u2603 man"  # the snowman is not in the WordPiece vocabulary: [UNK]
    assert minilm.tokenizer.tokenize(text) == ["snow", "[UNK]", "man"]
    skip = list(string.punctuation) + ["notaword-xyz"]  # convert_tokens_to_ids gives it the [UNK] id
    folder = copy_with_config(pylate_ckpt, tmp_path / "extra_word", "config_sentence_transformers.json",
                              skiplist_words=skip)
    enc = load_encoder(folder)
    assert enc.document_tokens([text])[0] == ["[CLS]", "[D]", "snow", "[UNK]", "man", "[SEP]"]
    assert enc.encode_documents([text])[0].shape == (6, 16)
    tok = enc.tokenizer
    assert skiplist_ids(tok, skip) == {tok.convert_tokens_to_ids(p) for p in string.punctuation}
    # naming the [UNK] token itself does drop it
    folder = copy_with_config(pylate_ckpt, tmp_path / "unk", "config_sentence_transformers.json",
                              skiplist_words=skip + ["[UNK]"])
    assert load_encoder(folder).document_tokens([text])[0] == ["[CLS]", "[D]", "snow", "man", "[SEP]"]


# ------------------------------------------------------------------ PyLate's residual Dense


@pytest.mark.parametrize("dim", [16, 32])  # 16: a stored residual.weight; 32: the input itself is added
def test_pylate_residual_dense_equals_reference(dim, tmp_path):
    path = make_pylate_colbert(tmp_path / "residual", dim=dim, use_residual=True)
    enc = load_encoder(path)
    assert enc.dim == dim
    with pytest.warns(UserWarning, match="truncated"):
        q, d = enc.encode_queries(QUERIES), enc.encode_documents(DOCS)
    assert_same(q, pylate_reference_encode(path, QUERIES, is_query=True))
    assert_same(d, pylate_reference_encode(path, DOCS, is_query=False))
    # the residual matters: the same weights without it give other vectors
    plain = load_encoder(make_pylate_colbert(tmp_path / "plain", dim=dim))
    torch.testing.assert_close(plain.projection.layers[0].linear.weight, enc.projection.layers[0].linear.weight)
    assert (plain.encode_documents(DOCS[:2])[0] - d[0]).abs().max() > 0.05


def test_pylate_residual_without_its_weight_is_refused(tmp_path):
    path = make_pylate_colbert(tmp_path / "residual", use_residual=True)
    weights = load_file(str(path / "1_Dense" / "model.safetensors"))
    save_file({"linear.weight": weights["linear.weight"]}, str(path / "1_Dense" / "model.safetensors"))
    with pytest.raises(EncoderLoadError, match=r"use_residual.*residual.weight of shape \(16, 32\)"):
        load_encoder(path)


# ------------------------------------------------------------------ Stanford defaults


def test_stanford_without_metadata_uses_colbert_ai_defaults(stanford_ckpt, tmp_path):
    folder = tmp_path / "no_metadata"
    shutil.copytree(stanford_ckpt, folder)
    (folder / "artifact.metadata").unlink()
    enc = load_encoder(folder)  # still Stanford: config.json says HF_ColBERT
    fmt, _, _ = read_checkpoint(folder, enc.tokenizer)
    assert (fmt.kind, fmt.query_length, fmt.doc_length) == ("stanford-colbert", 32, 220)  # ColBERTConfig's
    assert (fmt.query_marker, fmt.doc_marker, fmt.attend_to_expansion) == ("[unused0]", "[unused1]", False)
    # lengths are capped at the model's positions (128 in the tiny BERT)
    assert (enc.format.query_length, enc.format.doc_length) == (32, 128)


# ------------------------------------------------------------------ one tokenizer call


class CountingTokenizer:
    """Passes everything to a tokenizer, counting the calls that tokenize text."""

    def __init__(self, tokenizer):
        self.tokenizer, self.calls = tokenizer, 0

    def __call__(self, *args, **kw):
        self.calls += 1
        return self.tokenizer(*args, **kw)

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)


@pytest.mark.parametrize("method", ["encode_documents", "encode_queries", "encode_pooled"])
def test_each_encode_tokenizes_once(method, pylate_ckpt):
    enc = load_encoder(pylate_ckpt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = getattr(enc, method)(DOCS + QUERIES, batch_size=2)
        enc.tokenizer = CountingTokenizer(enc.tokenizer)
        got = getattr(enc, method)(DOCS + QUERIES, batch_size=2)  # 3 batches
    assert enc.tokenizer.calls == 1
    assert all(torch.equal(a, b) for a, b in zip(got, expected))


@pytest.mark.parametrize("side", ["right", "left"])
def test_truncation_is_the_tokenizers_own(minilm, side):
    texts = ["word " * 300 + "[SEP] the end", "a [MASK] b [SEP] c " * 80, "short [SEP] text"]
    minilm.tokenizer.truncation_side = side
    try:
        got = minilm.tokenize(texts, is_query=False)
        ref = minilm.tokenizer(texts, truncation=True, max_length=256, padding="longest", return_tensors="pt")
    finally:
        minilm.tokenizer.truncation_side = "right"
    assert torch.equal(got["input_ids"], ref["input_ids"])
    assert torch.equal(got["attention_mask"], ref["attention_mask"])
    assert minilm.token_counts(texts) == [len(ids) for ids in minilm.tokenizer(texts)["input_ids"]]


# ------------------------------------------------------------------ public helpers, masks


def test_token_states_accepts_bool_and_integer_masks(stanford_ckpt):
    enc = load_encoder(stanford_ckpt)
    t = enc.tokenize(DOCS, is_query=False)
    assert t["attention_mask"].dtype == torch.long and t["keep"].dtype == torch.bool
    states = enc.token_states(t["input_ids"], t["attention_mask"])
    assert states.shape == (3, t["input_ids"].shape[1], 16)
    assert torch.equal(states, enc.token_states(t["input_ids"], t["attention_mask"].bool()))
    # the kept rows, normalised, are encode_documents' vectors
    with pytest.warns(UserWarning):
        docs = enc.encode_documents(DOCS)
    for s, keep, d in zip(states, t["keep"], docs):
        torch.testing.assert_close(torch.nn.functional.normalize(s[keep], dim=-1), d, atol=1e-5, rtol=1e-4)


def test_warn_if_truncated_returns_the_counts(minilm):
    texts = ["word " * 300, "short"]
    with pytest.warns(UserWarning, match=r"1 of 2 documents are longer than the 256-token limit \(longest: 302"):
        assert minilm.warn_if_truncated(texts, is_query=False) == minilm.token_counts(texts) == [302, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert minilm.warn_if_truncated(["short"], is_query=True) == [3]
