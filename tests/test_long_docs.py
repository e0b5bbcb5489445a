"""lateint.lessons.long_docs: the truncation fact, the joined corpus of the length stress, every strategy measured."""
import pytest
import torch

from lateint.data import BeirDataset
from lateint.encoders import load_encoder
from lateint.lessons.long_docs import (CRAM, MAXSIM_CUT, MAXSIM_WHOLE, POOLED_CUT, chunk_label, joined_corpus,
                                       measure_strategies, strategy_table, truncation_fact)
from lateint.similarity import cosine_scores
from lateint.windows import encode_cram, encode_whole


def tiny() -> BeirDataset:
    corpus = {
        "d1": {"title": "", "text": "Aspirin lowers the risk of stroke. " + "Filler about weather. " * 8},
        "d2": {"title": "", "text": "The Eiffel Tower is in Paris."},
        "d3": {"title": "", "text": "Mitochondria make energy for the cell. " * 3},
        "d4": {"title": "", "text": "Vitamin D comes from sunlight."},
        "d5": {"title": "", "text": "Owls hunt at night."},
        "d6": {"title": "", "text": "Bread needs yeast to rise."},
    }
    return BeirDataset("tiny", corpus, {"q1": "what lowers stroke risk?", "q2": "where does vitamin D come from?"},
                       {"q1": {"d1": 1}, "q2": {"d4": 2}})


@pytest.fixture(scope="module")
def small():
    return load_encoder(device="cpu", document_length=24)


def test_truncation_fact_counts_the_documents_and_tokens_cut(small):
    ds = tiny()
    counts = small.token_counts(ds.doc_texts)
    f = truncation_fact(small, ds.doc_texts)
    cut = [c for c in counts if c > 24]
    assert f["longer"] == len(cut) == 2 and f["documents"] == 6
    assert f["tokens lost"] == pytest.approx(sum(c - 24 for c in cut) / sum(counts))


def test_joined_corpus_keeps_ids_and_judgements_and_is_seeded():
    ds = tiny()
    joined, members = joined_corpus(ds, 3, seed=1)
    assert joined.doc_ids == ds.doc_ids and joined.qrels == ds.qrels
    text = dict(zip(ds.doc_ids, ds.doc_texts))
    for d in ds.doc_ids:
        assert len(members[d]) == 3 and d in members[d] and len(set(members[d])) == 3
        assert set(members[d]) - {d} <= {"d2", "d3", "d5", "d6"}  # fillers: judged for no query
        assert joined.corpus[d]["text"] == "\n\n".join(text[m] for m in members[d])
    assert joined_corpus(ds, 3, seed=1)[1] == members
    assert {tuple(m) for m in joined_corpus(ds, 3, seed=2)[1].values()} != {tuple(m) for m in members.values()}
    assert joined_corpus(ds, 1)[0].doc_texts == ds.doc_texts
    with pytest.raises(ValueError, match="k must be an int from 1 to 4"):
        joined_corpus(ds, 6)


def test_measure_strategies_scores_each_strategy_as_its_own_functions_do(small, capsys):
    ds = tiny()
    with pytest.warns(UserWarning, match="2 of 6 documents are longer than the 24-token limit"):
        m = measure_strategies(small, ds, chunk_sizes=(8,))
    q = small.encode_pooled(ds.query_texts, is_query=True)
    with pytest.warns(UserWarning, match="truncated"):
        pooled = small.encode_pooled(ds.doc_texts)
    torch.testing.assert_close(m[POOLED_CUT].scores, cosine_scores(q, pooled), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(m[CRAM].scores, cosine_scores(q, encode_cram(small, ds.doc_texts)), atol=1e-5, rtol=1e-4)
    whole = encode_whole(small, ds.doc_texts)
    assert m[MAXSIM_WHOLE].vectors_per_doc == sum(map(len, whole)) / 6 > m[MAXSIM_CUT].vectors_per_doc
    assert m[chunk_label(8)].vectors_per_doc > 1 and m[CRAM].bytes_per_doc == 384 * 4
    table = strategy_table(ds, m, n_resamples=200)
    assert table[MAXSIM_WHOLE]["delta"] == 0 and table[MAXSIM_WHOLE]["ndcg@10"] > 0.5
    # composing whole documents from their sources gives the same scores at k = 1
    joined, members = joined_corpus(ds, 1)
    raw = dict(zip(ds.doc_ids, encode_whole(small, ds.doc_texts, normalize=False)))
    with pytest.warns(UserWarning, match="truncated"):  # the first-window strategies cut, and say so
        composed = measure_strategies(small, joined, chunk_sizes=(), sentences=False, whole_from={"members": members, "raw": raw},
                                      show_progress=True)
    torch.testing.assert_close(composed[MAXSIM_WHOLE].scores, m[MAXSIM_WHOLE].scores)
    bar = capsys.readouterr().err  # one step per strategy: first window, whole documents, BM25
    assert "strategies: 100%" in bar and "3/3" in bar


def test_token_counts_in_batches_equal_one_call(small):
    from lateint.lessons.long_docs import token_counts

    texts = tiny().doc_texts * 3
    assert token_counts(small, texts, batch=4) == small.token_counts(texts)


def test_token_counts_and_truncation_fact_show_progress_without_changing_the_counts(small, capsys):
    from lateint.lessons.long_docs import token_counts

    texts = tiny().doc_texts * 3
    assert token_counts(small, texts, batch=4, show_progress=True) == small.token_counts(texts)
    bar = capsys.readouterr().err
    assert "counting tokens" in bar and "5/5" in bar  # 18 texts, 4 at a time: 5 batches
    assert truncation_fact(small, texts, show_progress=True) == truncation_fact(small, texts)
    bar = capsys.readouterr().err
    assert bar.count("counting tokens") >= 1 and "1/1" in bar  # 18 texts: one batch of 256
