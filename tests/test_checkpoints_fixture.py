"""The checkpoint fixtures are well-formed, and the reference encoders behave as the originals do."""
from __future__ import annotations

import json
import string

import pytest
import torch
from safetensors import safe_open

from helpers import (
    TOKENIZER_FILES,
    make_pylate_colbert,
    make_stanford_colbert,
    pylate_reference_encode,
    stanford_reference_encode,
)

HIDDEN, DIM, QLEN, DLEN = 32, 16, 12, 40
QUERIES = ["what is late interaction?", "a query that is much longer than twelve word pieces, so it gets cut", "a"]
DOCS = [
    "The cat sat on the mat.",  # [CLS] [D] the cat sat on the mat [SEP] -> 9 kept ("." dropped)
    "!!!",  # only punctuation -> [CLS] [D] [SEP]
    "Late interaction keeps one vector per token; MaxSim sums the best matches.",
    " ".join(["word"] * 100),  # truncated to DLEN
]


def _tensors(path):
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}


def _assert_unit_rows(vectors):
    for v in vectors:
        assert v.dtype == torch.float32 and v.shape[1] == DIM
        assert torch.allclose(v.norm(dim=1), torch.ones(v.shape[0]), atol=1e-5)


def _expected_doc_rows(tokenizer, text):
    """[CLS] + marker + word pieces (truncated) + [SEP], minus punctuation."""
    pieces = tokenizer.tokenize(text)[: DLEN - 3]
    return 3 + sum(p not in string.punctuation for p in pieces)


# ----------------------------------------------------------------------------- Stanford


def test_stanford_layout(stanford_ckpt):
    names = {p.name for p in stanford_ckpt.iterdir()}
    assert {"config.json", "model.safetensors", "artifact.metadata", *TOKENIZER_FILES} <= names
    assert not any(n.endswith((".bin", ".pt", ".pth")) for n in names)

    config = json.loads((stanford_ckpt / "config.json").read_text())
    assert config["architectures"] == ["HF_ColBERT"] and config["model_type"] == "bert"
    assert config["hidden_size"] == HIDDEN and config["vocab_size"] == 30522

    t = _tensors(stanford_ckpt / "model.safetensors")
    assert t["linear.weight"].shape == (DIM, HIDDEN) and "linear.bias" not in t
    assert all(k.startswith("bert.") for k in t if k != "linear.weight")
    assert t["bert.embeddings.word_embeddings.weight"].shape == (30522, HIDDEN)
    assert "bert.pooler.dense.weight" in t and "bert.encoder.layer.1.output.LayerNorm.weight" in t
    # LayerNorm scales are random too, so a loader that drops them cannot pass a comparison
    assert not torch.allclose(t["bert.embeddings.LayerNorm.weight"], torch.ones(HIDDEN))

    meta = json.loads((stanford_ckpt / "artifact.metadata").read_text())
    assert meta["query_token_id"] == "[unused0]" and meta["doc_token_id"] == "[unused1]"
    assert meta["query_token"] == "[Q]" and meta["doc_token"] == "[D]"
    assert (meta["query_maxlen"], meta["doc_maxlen"], meta["dim"]) == (QLEN, DLEN, DIM)
    assert meta["similarity"] == "cosine" and meta["mask_punctuation"] is True
    assert meta["attend_to_mask_tokens"] is False and "checkpoint" in meta


def test_stanford_builder_is_deterministic(tmp_path, stanford_ckpt):
    again = make_stanford_colbert(tmp_path / "again")
    a, b = _tensors(stanford_ckpt / "model.safetensors"), _tensors(again / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_stanford_reference_queries(stanford_ckpt, stanford_ckpt_attend):
    q = stanford_reference_encode(stanford_ckpt, QUERIES, is_query=True)
    assert [v.shape[0] for v in q] == [QLEN] * len(QUERIES)  # [MASK]-expanded, long one truncated
    _assert_unit_rows(q)
    # attend_to_mask_tokens changes what the real tokens see
    qa = stanford_reference_encode(stanford_ckpt_attend, QUERIES, is_query=True)
    assert not torch.allclose(q[0], qa[0], atol=1e-3)


def test_stanford_reference_documents(stanford_ckpt, stanford_ckpt_attend):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(stanford_ckpt))
    d = stanford_reference_encode(stanford_ckpt, DOCS, is_query=False)
    assert [v.shape[0] for v in d] == [_expected_doc_rows(tok, t) for t in DOCS]
    assert d[0].shape[0] == 9 and d[1].shape[0] == 3 and d[3].shape[0] == DLEN
    _assert_unit_rows(d)
    # batch composition (padding) does not change a document's vectors
    alone = stanford_reference_encode(stanford_ckpt, DOCS[:1], is_query=False)[0]
    assert torch.allclose(alone, d[0], atol=1e-5)
    # the query-side flag does not touch documents
    da = stanford_reference_encode(stanford_ckpt_attend, DOCS, is_query=False)
    assert all(torch.equal(x, y) for x, y in zip(d, da))


# ----------------------------------------------------------------------------- PyLate


def test_pylate_layout(pylate_ckpt):
    names = {p.name for p in pylate_ckpt.iterdir()}
    assert {"modules.json", "config_sentence_transformers.json", "sentence_bert_config.json",
            "config.json", "model.safetensors", "1_Dense", *TOKENIZER_FILES} <= names
    modules = json.loads((pylate_ckpt / "modules.json").read_text())
    assert [(m["path"], m["type"]) for m in modules] == [
        ("", "sentence_transformers.models.Transformer"),
        ("1_Dense", "pylate.models.Dense.Dense"),
    ]
    dense_cfg = json.loads((pylate_ckpt / "1_Dense" / "config.json").read_text())
    assert dense_cfg == {"in_features": HIDDEN, "out_features": DIM, "bias": False,
                         "activation_function": "torch.nn.modules.linear.Identity"}
    dense = _tensors(pylate_ckpt / "1_Dense" / "model.safetensors")
    assert list(dense) == ["linear.weight"] and dense["linear.weight"].shape == (DIM, HIDDEN)

    st = json.loads((pylate_ckpt / "config_sentence_transformers.json").read_text())
    assert st["query_prefix"] == "[Q] " and st["document_prefix"] == "[D] "
    assert (st["query_length"], st["document_length"]) == (QLEN, DLEN)
    assert st["attend_to_expansion_tokens"] is False and st["do_query_expansion"] is True
    assert st["skiplist_words"] == list(string.punctuation) and st["similarity_fn_name"] == "MaxSim"
    sb = json.loads((pylate_ckpt / "sentence_bert_config.json").read_text())
    assert set(sb) == {"max_seq_length", "do_lower_case"}

    t = _tensors(pylate_ckpt / "model.safetensors")
    assert not any(k.startswith("bert.") for k in t)
    assert t["embeddings.word_embeddings.weight"].shape == (30524, HIDDEN)  # vocab + "[Q] " + "[D] "
    assert json.loads((pylate_ckpt / "config.json").read_text())["vocab_size"] == 30524


@pytest.mark.parametrize("dim", [DIM, HIDDEN])
def test_pylate_residual_layout(dim, pylate_ckpt, tmp_path):
    """use_residual: the config flag, residual.weight only when the sizes differ, other weights unchanged."""
    path = make_pylate_colbert(tmp_path / "residual", dim=dim, use_residual=True)
    dense_cfg = json.loads((path / "1_Dense" / "config.json").read_text())
    assert dense_cfg["use_residual"] is True and dense_cfg["out_features"] == dim
    dense = _tensors(path / "1_Dense" / "model.safetensors")
    assert sorted(dense) == (["linear.weight", "residual.weight"] if dim != HIDDEN else ["linear.weight"])
    if dim != HIDDEN:
        assert dense["residual.weight"].shape == (dim, HIDDEN)
        plain = _tensors(pylate_ckpt / "1_Dense" / "model.safetensors")
        assert torch.equal(dense["linear.weight"], plain["linear.weight"])
    assert _tensors(path / "model.safetensors").keys() == _tensors(pylate_ckpt / "model.safetensors").keys()


def test_pylate_residual_reference_adds_the_residual(tmp_path):
    """The reference encoder adds residual(x) (or x) to linear(x), as pylate's Dense.forward does."""
    path = make_pylate_colbert(tmp_path / "residual", use_residual=True)
    plain = make_pylate_colbert(tmp_path / "plain")
    with_res = pylate_reference_encode(path, DOCS[:1], is_query=False)[0]
    without = pylate_reference_encode(plain, DOCS[:1], is_query=False)[0]
    assert with_res.shape == without.shape and (with_res - without).abs().max() > 0.05


def test_pylate_prefixes_are_added_tokens(pylate_ckpt):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(pylate_ckpt))
    assert len(tok) == 30524
    assert tok.convert_tokens_to_ids("[Q] ") == 30522 and tok.convert_tokens_to_ids("[D] ") == 30523
    assert tok.pad_token == "[MASK]"  # PyLate pads (query expansion) with the mask token


def test_pylate_reference(pylate_ckpt, pylate_ckpt_attend):
    from transformers import AutoTokenizer

    q = pylate_reference_encode(pylate_ckpt, QUERIES, is_query=True)
    assert [v.shape[0] for v in q] == [QLEN] * len(QUERIES)
    _assert_unit_rows(q)
    qa = pylate_reference_encode(pylate_ckpt_attend, QUERIES, is_query=True)
    assert not torch.allclose(q[0], qa[0], atol=1e-3)

    tok = AutoTokenizer.from_pretrained(str(pylate_ckpt))
    d = pylate_reference_encode(pylate_ckpt, DOCS, is_query=False)
    assert [v.shape[0] for v in d] == [_expected_doc_rows(tok, t) for t in DOCS]
    _assert_unit_rows(d)
    alone = pylate_reference_encode(pylate_ckpt, DOCS[:1], is_query=False)[0]
    assert torch.allclose(alone, d[0], atol=1e-5)


def test_pylate_builder_options(tmp_path):
    path = make_pylate_colbert(tmp_path / "noexp", do_query_expansion=False)
    q = pylate_reference_encode(path, ["what is late interaction?"], is_query=True)[0]
    # without expansion: [CLS] [Q] what is late interaction ? [SEP], no [MASK] rows
    assert q.shape == (8, DIM)


@pytest.mark.parametrize("builder", [make_stanford_colbert, make_pylate_colbert])
def test_custom_sizes(tmp_path, builder):
    path = builder(tmp_path / "c", 8, 6, 10)
    encode = stanford_reference_encode if builder is make_stanford_colbert else pylate_reference_encode
    q = encode(path, ["one two three four five six seven"], is_query=True)[0]
    d = encode(path, ["one two three four five six seven eight nine ten eleven"], is_query=False)[0]
    assert q.shape == (6, 8) and d.shape == (10, 8)
