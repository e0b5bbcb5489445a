"""colbertize.py: a Stanford-ColBERT checkpoint around the embedded MiniLM, and random projections."""
import json

import pytest
import torch

from lateint import load_encoder
from lateint.lessons.colbertize import colbertize, plot_projection_sweep, project, projection_sweep, random_projection
from lateint.comparison import encode_corpus
from lateint.lessons.demo import demo_corpus
from lateint.encoders import detect_format
from lateint.metrics import evaluate, run_from_scores
from lateint.index import MaxSimIndex


def test_random_projection_is_seeded_and_keeps_lengths_on_average():
    m = random_projection(384, 64, seed=3)
    assert m.shape == (64, 384)
    assert torch.equal(m, random_projection(384, 64, seed=3))
    assert not torch.equal(m, random_projection(384, 64, seed=4))
    x = torch.nn.functional.normalize(torch.randn(2000, 384, generator=torch.Generator().manual_seed(0)), dim=-1)
    assert (x @ m.T).pow(2).sum(-1).mean().item() == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ValueError, match="dim_out"):
        random_projection(384, 0)


def test_project_normalises_rows_and_checks_shapes():
    m = random_projection(8, 3)
    vecs = [torch.randn(5, 8), torch.randn(1, 8)]
    out = project(vecs, m)
    assert [tuple(v.shape) for v in out] == [(5, 3), (1, 3)]
    torch.testing.assert_close(out[0].norm(dim=-1), torch.ones(5))
    torch.testing.assert_close(out[1], torch.nn.functional.normalize(vecs[1] @ m.T, dim=-1))
    with pytest.raises(ValueError, match=r"\(tokens, 8\)"):
        project([torch.randn(2, 7)], m)


@pytest.fixture(scope="module")
def minilm(encoder):
    return encoder


@pytest.fixture(scope="module")
def colbert(tmp_path_factory):
    path = colbertize(tmp_path_factory.mktemp("colbertized"), dim=32, query_length=16, doc_length=64, seed=1)
    return path, load_encoder(path, device="cpu")


def test_colbertized_folder_has_the_colbert_mechanics(colbert):
    path, enc = colbert
    assert detect_format(path) == "stanford-colbert"
    meta = json.loads((path / "artifact.metadata").read_text())
    assert (meta["dim"], meta["query_maxlen"], meta["doc_maxlen"]) == (32, 16, 64)
    f = enc.format
    assert (f.kind, enc.dim, f.query_length, f.doc_length) == ("stanford-colbert", 32, 16, 64)
    q = enc.query_tokens(["Who owns the red bicycle?"])[0]
    assert q[:2] == ["[CLS]", "[Q]"] and len(q) == 16 and q[-1] == "[MASK]"
    d = enc.document_tokens(["Mara owns it, and rides it."])[0]
    assert d[:2] == ["[CLS]", "[D]"] and "," not in d and "." not in d
    v = enc.encode_queries(["Who owns the red bicycle?"])[0]
    assert v.shape == (16, 32)
    torch.testing.assert_close(v.norm(dim=-1), torch.ones(16))


def test_colbertized_vectors_are_minilm_states_through_the_projection(colbert, minilm):
    _, enc = colbert
    texts = ["Mara owns the red bicycle.", "Tomas plays the cello at weddings."]
    ids = enc.tokenize(texts, is_query=False)
    with torch.no_grad():
        hidden = minilm.model(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"]).last_hidden_state
    expected = torch.nn.functional.normalize(hidden @ random_projection(384, 32, seed=1).T, dim=-1)
    for got, h, keep in zip(enc.encode_documents(texts), expected, ids["keep"]):
        torch.testing.assert_close(got, h[keep], atol=1e-5, rtol=1e-4)


def test_colbertize_refuses_a_non_bert_base(tmp_path):
    from safetensors.torch import save_file

    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps({"model_type": "roberta", "hidden_size": 8}))
    save_file({"w": torch.zeros(1)}, str(base / "model.safetensors"))
    with pytest.raises(ValueError, match="BERT-family"):
        colbertize(tmp_path / "out", base=base)
    (base / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        colbertize(tmp_path / "out", base=base)


def test_projection_sweep_matches_plain_maxsim_at_full_size(minilm, tmp_path, monkeypatch):
    monkeypatch.setenv("LATEINT_CACHE", str(tmp_path))
    ds = demo_corpus()
    docs = encode_corpus(minilm, ds.doc_texts, "documents")["tokens"]
    queries = encode_corpus(minilm, ds.query_texts, "queries")["tokens"]
    table = projection_sweep(ds, docs, queries, [384, 8], metrics=("ndcg@10", "recall@5"))
    plain = run_from_scores(MaxSimIndex(ds.doc_ids, docs).scores(queries), ds.query_ids, ds.doc_ids)
    assert table[384]["ndcg@10"] == pytest.approx(evaluate(plain, ds.qrels, ["ndcg@10"])["ndcg@10"])
    mean_tokens = sum(len(v) for v in docs) / len(docs)
    assert table[8]["bytes_per_doc"] == round(mean_tokens * 8 * 2)
    assert table[8]["ndcg@10"] < table[384]["ndcg@10"]  # 8 random numbers per token lose information
    with pytest.raises(ValueError, match="encode ds.doc_texts"):
        projection_sweep(ds, docs[:-1], queries, [8])


def test_projection_sweep_plot_names_its_units():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = {16: {"ndcg@10": 0.7, "bytes_per_doc": 2048}, 128: {"ndcg@10": 0.9, "bytes_per_doc": 16384}}
    ax = plot_projection_sweep(table)
    assert ax.get_ylabel() == "nDCG@10" and "nDCG@10" in ax.get_title()
    assert "128 = not projected" in ax.get_xlabel()
    right = next(other for other in ax.figure.axes if other is not ax)
    assert right.get_ylabel() == "KiB per document (float16)"
    assert [bar.get_height() for bar in right.patches] == [2.0, 16.0]  # bytes / 1,024
    with pytest.raises(ValueError, match="projection_sweep's output"):
        plot_projection_sweep({16: {"bytes_per_doc": 1}})
    plt.close("all")
