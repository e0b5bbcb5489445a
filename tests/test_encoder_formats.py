"""The loader finds projection, markers, query augmentation and skiplist in both ColBERT formats.

The fixtures (tests/helpers.py) are tiny random checkpoints written on disk in the
Stanford ColBERT and PyLate layouts; the reference encoders there follow the original
libraries' code line by line (checked equal to colbert-ai and PyLate, max abs diff 0).
"""
import json

import pytest
import torch

from helpers import (DOCS, QUERIES, assert_same, assert_same_tokens, make_pylate_colbert, needs_pylate, pylate_encode,
                     pylate_reference_encode, stanford_reference_encode)
from lateint import load_encoder, maxsim_scores
from lateint.encoders import EncoderLoadError, detect_format

@pytest.mark.parametrize(
    "fixture, reference, kind",
    [
        ("stanford_ckpt", stanford_reference_encode, "stanford-colbert"),
        ("stanford_ckpt_attend", stanford_reference_encode, "stanford-colbert"),
        ("pylate_ckpt", pylate_reference_encode, "pylate"),
        ("pylate_ckpt_attend", pylate_reference_encode, "pylate"),
    ],
)
def test_loader_equals_reference(fixture, reference, kind, request):
    path = request.getfixturevalue(fixture)
    assert detect_format(path) == kind
    enc = load_encoder(path, device="cpu")
    assert enc.format.kind == kind
    with pytest.warns(UserWarning, match="truncated"):
        q = enc.encode_queries(QUERIES)
    assert_same(q, reference(path, QUERIES, is_query=True))
    with pytest.warns(UserWarning, match="truncated"):
        d = enc.encode_documents(DOCS)
    assert_same(d, reference(path, DOCS, is_query=False))


@pytest.mark.parametrize("fixture", ["stanford_ckpt", "pylate_ckpt"])
def test_projection_markers_augmentation_skiplist(fixture, request):
    path = request.getfixturevalue(fixture)
    enc = load_encoder(path, device="cpu")
    f = enc.format
    # the projection: 32-d BERT states -> 16-d ColBERT vectors
    assert enc.model.config.hidden_size == 32 and enc.dim == 16
    assert len(enc.projection.layers) == 1 and enc.projection.layers[0].linear.weight.shape == (16, 32)
    # query augmentation: every query is exactly query_length vectors, padded with [MASK]
    qt = enc.query_tokens(["hello world"])[0]
    assert f.query_length == 12 and len(qt) == 12
    tok = enc.tokenizer
    assert qt[:5] == ["[CLS]", "[Q]", "hello", "world", "[SEP]"]
    assert qt[5:] == ["[MASK]"] * 7
    ids = enc.tokenize(["hello world"], is_query=True)
    assert ids["input_ids"][0, 1].item() == tok.convert_tokens_to_ids(f.query_marker)  # the [Q] marker
    assert ids["attention_mask"][0].tolist() == [1] * 5 + [0] * 7  # [MASK]s are not attended to
    # document marker and skiplist: punctuation is encoded (it shapes its neighbours) but dropped
    dt = enc.document_tokens(["Hello, world!"])[0]
    assert dt == ["[CLS]", "[D]", "hello", "world", "[SEP]"]
    assert enc.tokenize(["Hello, world!"], is_query=False)["input_ids"][0, 1].item() == tok.convert_tokens_to_ids(f.doc_marker)
    assert enc.encode_documents(["Hello, world!"])[0].shape == (5, 16)
    # vectors are unit length
    torch.testing.assert_close(enc.encode_queries(["hi"])[0].norm(dim=-1), torch.ones(12), atol=1e-5, rtol=0)


def test_stanford_and_pylate_markers_differ(stanford_ckpt, pylate_ckpt):
    assert load_encoder(stanford_ckpt).format.query_marker == "[unused0]"
    assert load_encoder(pylate_ckpt).format.query_marker == "[Q] "


def test_length_override(stanford_ckpt):
    enc = load_encoder(stanford_ckpt, query_length=8, document_length=20)
    assert enc.encode_queries(["a b"])[0].shape == (8, 16)
    with pytest.warns(UserWarning, match="20-token limit"):
        assert enc.encode_documents(["word " * 50])[0].shape[0] <= 20
    # counts before truncation: [CLS] + 50 words + [SEP], plus the [D] marker ColBERT inserts
    plain = len(enc.tokenizer("word " * 50)["input_ids"])
    assert plain == 52 and enc.token_counts(["word " * 50]) == [53]
    with pytest.warns(UserWarning, match=r"longest: 53 tokens"):
        enc.encode_documents(["word " * 50])


def test_broken_checkpoints_give_clear_errors(stanford_ckpt, pylate_ckpt, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    broken = tmp_path / "stanford_no_linear"
    shutil.copytree(stanford_ckpt, broken)
    weights = load_file(str(broken / "model.safetensors"))
    del weights["linear.weight"]
    save_file(weights, str(broken / "model.safetensors"))
    with pytest.raises(EncoderLoadError, match="no 'linear.weight'"):
        load_encoder(broken)

    missing_layers = tmp_path / "stanford_missing_layers"
    shutil.copytree(stanford_ckpt, missing_layers)
    weights = load_file(str(missing_layers / "model.safetensors"))
    save_file({k: v for k, v in weights.items() if "layer.1." not in k}, str(missing_layers / "model.safetensors"))
    with pytest.raises(EncoderLoadError, match="would be random"):
        load_encoder(missing_layers)

    bad_marker = tmp_path / "pylate_bad_marker"
    shutil.copytree(pylate_ckpt, bad_marker)
    cfg = json.loads((bad_marker / "config_sentence_transformers.json").read_text())
    cfg["query_prefix"] = "[NOT-A-TOKEN]"
    (bad_marker / "config_sentence_transformers.json").write_text(json.dumps(cfg))
    with pytest.raises(EncoderLoadError, match="not in this checkpoint's vocabulary"):
        load_encoder(bad_marker)


@needs_pylate
@pytest.mark.parametrize(
    # residual: a Dense layer with use_residual; 16 -> PyLate stores residual.weight, 32 -> it adds the input itself
    "case", ["stanford_ckpt", "pylate_ckpt", "pylate_residual_16", "pylate_residual_32"],
)
def test_same_tokens_embeddings_and_scores_as_pylate(case, request, tmp_path):
    if case.startswith("pylate_residual_"):
        path = make_pylate_colbert(tmp_path / case, dim=int(case.rsplit("_", 1)[1]), use_residual=True)
    else:
        path = request.getfixturevalue(case)
    ref_q, ref_d, info = pylate_encode(path, tmp_path)
    enc = load_encoder(path)
    assert_same_tokens(enc, info)
    with pytest.warns(UserWarning):
        q, d = enc.encode_queries(QUERIES), enc.encode_documents(DOCS)
    assert_same(q, ref_q)
    assert_same(d, ref_d)
    torch.testing.assert_close(maxsim_scores(q, d), maxsim_scores(ref_q, ref_d), atol=1e-4, rtol=1e-5)
