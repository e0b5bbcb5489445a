"""Tests for lateint.lessons.demo: the hand-written demo corpus and needle_haystack."""

import itertools
import re

import pytest

from lateint.bm25 import BM25
from lateint.lessons.demo import FILLER_SENTENCES, NEEDLE, NEEDLE_DOC_ID, NEEDLE_QUERY, demo_corpus, needle_haystack


def test_demo_corpus_shape_and_needle():
    ds = demo_corpus()
    assert 30 <= len(ds.corpus) <= 40 and len(ds.queries) >= 5
    assert set(ds.qrels) == set(ds.queries)
    assert all(any(g > 0 for g in judged.values()) for judged in ds.qrels.values())
    assert ds.qrels["q-needle"] == {NEEDLE_DOC_ID: 2} and ds.queries["q-needle"] == NEEDLE_QUERY
    holding_needle = [did for did, text in zip(ds.doc_ids, ds.doc_texts) if NEEDLE in text]
    assert holding_needle == [NEEDLE_DOC_ID]
    assert all(5 <= len(text.split()) <= 45 for text in ds.doc_texts)  # short docs


def test_demo_corpus_is_a_fresh_copy_each_time():
    first = demo_corpus()
    first.corpus.clear()
    first.qrels["q-needle"]["x"] = 1
    second = demo_corpus()
    assert len(second.corpus) > 0 and second.qrels["q-needle"] == {NEEDLE_DOC_ID: 2}


def test_bm25_finds_the_needle_document():
    ds = demo_corpus()
    run = BM25(ds.doc_ids, ds.doc_texts).run([NEEDLE_QUERY], ["q-needle"], k=3)
    assert next(iter(run["q-needle"])) == NEEDLE_DOC_ID


def test_filler_is_unrelated_to_the_needle():
    assert len(FILLER_SENTENCES) >= 50 and len(set(FILLER_SENTENCES)) == len(FILLER_SENTENCES)
    needle_words = r"\b(lighthouse|keeper|skellig|lens|tin|stair|spare)\b"
    assert [s for s in FILLER_SENTENCES if re.search(needle_words, s, re.IGNORECASE)] == []


def test_haystack_is_deterministic_and_holds_the_needle_once():
    text = needle_haystack(NEEDLE, n_filler=30, seed=7)
    assert text == needle_haystack(NEEDLE, n_filler=30, seed=7)
    assert text != needle_haystack(NEEDLE, n_filler=30, seed=8)
    assert text.count(NEEDLE) == 1
    assert needle_haystack(NEEDLE, n_filler=0) == NEEDLE


def test_haystack_grows_with_filler_and_extends_the_shorter_one():
    lengths = [len(needle_haystack(NEEDLE, n_filler=n, position="end")) for n in range(0, 200, 10)]
    assert all(a < b for a, b in itertools.pairwise(lengths))
    short = needle_haystack(NEEDLE, n_filler=5, position="end")
    long = needle_haystack(NEEDLE, n_filler=12, position="end")
    assert long.startswith(short[: -len(NEEDLE)])
    assert long.endswith(NEEDLE)


def test_haystack_longer_than_the_pool_reuses_sentences():
    pool = ["One.", "Two.", "Three."]
    text = needle_haystack("Needle.", pool, n_filler=7, position="start")
    words = text.split()
    assert words[0] == "Needle." and len(words) == 8 and set(words[1:]) == set(pool)
    assert sorted(words[1:4]) == sorted(pool)  # each pass uses every sentence once


@pytest.mark.parametrize("position, n_before", [("start", 0), ("middle", 5), ("end", 10), (0.3, 3), (1, 10)])
def test_needle_position(position, n_before):
    pool = [f"Filler {i}." for i in range(10)]
    sentences = re.findall(r"[^.]+\.", needle_haystack("Needle here.", pool, n_filler=10, position=position))
    assert [s.strip() for s in sentences].index("Needle here.") == n_before


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(needle=""), ValueError, "needle must be a non-empty string"),
        (dict(needle=NEEDLE, n_filler=-1), ValueError, "n_filler must be an int >= 0"),
        (dict(needle=NEEDLE, n_filler=2.5), ValueError, "n_filler must be an int >= 0"),
        (dict(needle=NEEDLE, position="top"), ValueError, "position must be"),
        (dict(needle=NEEDLE, position=1.5), ValueError, "position must be"),
        (dict(needle=NEEDLE, filler_sentences=[]), ValueError, "filler_sentences is empty"),
        (dict(needle=NEEDLE, filler_sentences=["ok.", ""]), ValueError, "non-empty string"),
        (dict(needle=NEEDLE, filler_sentences="One. Two."), TypeError, "not one string"),
        (dict(needle="Blue tin.", filler_sentences=["A Blue tin. here"]), ValueError, "already contains the needle"),
    ],
)
def test_bad_input_is_an_error(kwargs, error, message):
    with pytest.raises(error, match=message):
        needle_haystack(**kwargs)
