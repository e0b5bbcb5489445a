"""Tests for lateint.bm25 (the bm25s-backed lexical baseline)."""

import sys

import pytest
import torch
from helpers import SHARED, needs_shared

from lateint.bm25 import BM25
from lateint.data import load_beir
from lateint.metrics import evaluate, ranked_doc_ids

DOC_IDS = ["bread", "planets", "football", "python"]
TEXTS = [
    "Yeast makes bread dough rise by producing carbon dioxide.",
    "Venus is the hottest planet; Mercury is the closest planet to the Sun.",
    "A football match lasts ninety minutes plus stoppage time.",
    "Python lists can be reversed with the reverse method.",
]


@pytest.fixture(scope="module")
def tiny():
    return BM25(DOC_IDS, TEXTS)


def test_the_right_document_wins(tiny):
    queries = ["Which planet is the hottest?", "how long is a football match", "reverse a python list"]
    hits = tiny.search(queries, k=2)
    assert [h[0][0] for h in hits] == ["planets", "football", "python"]
    run = tiny.run(queries, ["q1", "q2", "q3"], k=2)
    assert run == {q: dict(h) for q, h in zip(["q1", "q2", "q3"], hits)}


def test_scores_shape_and_zero_without_shared_words(tiny):
    scores = tiny.scores(["yeast dough", "planet"])
    assert scores.shape == (2, 4) and scores.dtype == torch.float32  # (n_queries, n_docs), like the indexes
    assert scores[0, 0] > 0 and bool((scores[0, 1:] == 0).all())


def test_search_agrees_with_scores(tiny):
    query = "the planet Sun and carbon dioxide"
    run = tiny.run([query], ["q"], k=10)
    scores = tiny.scores([query])[0].tolist()
    expected = {did: float(s) for did, s in zip(DOC_IDS, scores) if s > 0}
    assert run["q"] == expected
    assert list(run["q"]) == ranked_doc_ids(expected)  # best first


def test_k_larger_than_corpus_and_zero_scores_left_out(tiny):
    run = tiny.run(["planet bread"], ["q"], k=1000)
    assert set(run["q"]) == {"planets", "bread"}  # the two docs sharing a word; no zero-score docs
    assert tiny.search(["the of and"], k=10) == [[]]  # only stopwords: nothing matches
    assert tiny.run(["zyzzyva"], ["oov"], k=10) == {"oov": {}}


def test_stemming_matches_word_forms():
    texts = ["the cat sat on the mat", "dogs chase cats"]
    stemmed, plain = BM25(["a", "b"], texts), BM25(["a", "b"], texts, stemmer=False)
    assert bool((stemmed.scores(["cats"]) > 0).all())  # "cat" and "cats" share the stem
    assert plain.scores(["cats"])[0, 0] == 0 and plain.scores(["cats"])[0, 1] > 0


def test_stopwords_can_be_kept():
    texts = ["the cat", "a dog"]
    assert bool((BM25(["a", "b"], texts).scores(["the"]) == 0).all())
    assert BM25(["a", "b"], texts, stopwords=None).scores(["the"])[0, 0] > 0


def test_missing_pystemmer_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "Stemmer", None)  # makes `import Stemmer` fail
    with pytest.raises(ImportError, match="pip install PyStemmer"):
        BM25(DOC_IDS, TEXTS)
    assert BM25(DOC_IDS, TEXTS, stemmer=False).scores(["bread"])[0, 0] > 0


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query_is_an_error(tiny, query):
    with pytest.raises(ValueError, match="needs some words"):
        tiny.run([query], ["q-empty"])
    with pytest.raises(ValueError, match="needs some words"):
        tiny.scores([query])
    with pytest.raises(TypeError, match="list of strings"):
        tiny.scores("bread")


@pytest.mark.parametrize(
    "doc_ids, texts, error, message",
    [
        ([], [], ValueError, "empty corpus"),
        (["a", "b"], ["only one text"], ValueError, "2 document ids but 1 document texts"),
        (["a", "a"], ["x", "y"], ValueError, "duplicates"),
        (["a"], [None], TypeError, "not str"),
        (["a"], "one string", TypeError, "not one string"),
    ],
)
def test_bad_corpus_is_an_error(doc_ids, texts, error, message):
    with pytest.raises(error, match=message):
        BM25(doc_ids, texts)


def test_bad_queries_are_an_error(tiny):
    with pytest.raises(ValueError, match="1 query ids but 2 query texts"):
        tiny.run(["a", "b"], ["q1"])
    with pytest.raises(ValueError, match="at least 1"):
        tiny.search(["bread"], k=0)


# Measured with these defaults (k1=1.2, b=0.75, stemming, English stopwords):
# SciFact test nDCG@10 = 0.679, NFCorpus test nDCG@10 = 0.318
# (Anserini's BEIR BM25 flat baselines: 0.679 and 0.322).
@pytest.mark.slow
@needs_shared
@pytest.mark.parametrize("name, floor", [("scifact", 0.6), ("nfcorpus", 0.3)])
def test_beir_bm25_reaches_a_sane_ndcg(name, floor):
    ds = load_beir(name, data_dir=SHARED)
    run = BM25(ds.doc_ids, ds.doc_texts).run(ds.query_texts, ds.query_ids, k=100)
    assert all(len(docs) <= 100 for docs in run.values())
    assert evaluate(run, ds.qrels, ["ndcg@10"])["ndcg@10"] > floor
