"""compare.py: one forward pass gives the same pooled and MaxSim results as separate calls."""
import pytest
import torch

from lateint import load_encoder
from lateint.comparison import compare, encode_corpus, retrieve_all
from lateint.lessons.demo import demo_corpus
from lateint.metrics import run_from_scores
from lateint.index import MaxSimIndex, PooledIndex


@pytest.fixture(scope="module")
def enc(encoder):
    return encoder


def test_shared_pass_equals_separate_calls(enc):
    texts = demo_corpus().doc_texts[:6]
    both = encode_corpus(enc, texts, "documents", cache=False)
    torch.testing.assert_close(both["pooled"], enc.encode_pooled(texts), atol=1e-5, rtol=1e-4)
    for a, b in zip(both["tokens"], enc.encode_documents(texts)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_retrieve_all_matches_the_indexes(enc, tmp_path, monkeypatch):
    monkeypatch.setenv("LATEINT_CACHE", str(tmp_path))
    ds = demo_corpus()
    runs = retrieve_all(ds, enc, k=5)
    assert list(runs) == ["pooled", "maxsim", "bm25"]
    Q, D = enc.encode_queries(ds.query_texts), enc.encode_documents(ds.doc_texts)
    expected = run_from_scores(MaxSimIndex(ds.doc_ids, D).scores(Q), ds.query_ids, ds.doc_ids, k=5)
    for qid in ds.query_ids:
        assert list(runs["maxsim"][qid]) == list(expected[qid])
    pooled = PooledIndex(ds.doc_ids, enc.encode_pooled(ds.doc_texts)).scores(enc.encode_pooled(ds.query_texts))
    expected = run_from_scores(pooled, ds.query_ids, ds.doc_ids, k=5)
    for qid in ds.query_ids:
        assert list(runs["pooled"][qid]) == list(expected[qid])
    assert any(tmp_path.glob("*.safetensors"))  # went through the cache
    table = compare(ds, enc, metrics=("ndcg@10", "recall@2"))
    assert set(table) == {"pooled", "maxsim", "bm25"}
    assert all(0.0 <= v <= 1.0 for row in table.values() for v in row.values())


def test_compare_bad_input():
    ds = demo_corpus()
    with pytest.raises(ValueError, match="Unknown method"):
        retrieve_all(ds, None, methods=("colbert",))
    with pytest.raises(ValueError, match="need an encoder"):
        retrieve_all(ds, None, methods=("maxsim",))
    assert set(compare(ds, None, methods=("bm25",))) == {"bm25"}


def test_only_what_is_asked_for_is_encoded(stanford_ckpt, capsys):
    colbert = load_encoder(stanford_ckpt)  # not a shared pass: pooled and tokens are separate encodes
    texts = demo_corpus().doc_texts[:3]
    assert set(encode_corpus(colbert, texts, "documents", cache=False, want=["tokens"])) == {"tokens"}
    assert set(encode_corpus(colbert, texts, "documents", cache=False, want=["pooled"])) == {"pooled"}
    with pytest.warns(UserWarning, match="longer than the 12-token limit"):  # the fixture's short query_maxlen
        retrieve_all(demo_corpus(), colbert, methods=("maxsim",), cache=False, show_progress=True)
    assert "encoding documents" in capsys.readouterr().err
