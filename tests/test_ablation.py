"""MaxSim ablations: token kinds, dropping tokens, normalisation, who wins the maxes."""
import pytest
import torch

from lateint.lessons.ablation import (
    TokenVectors,
    maxsim_quality,
    mean_norms,
    token_kind,
    token_shares,
    variants,
    win_shares,
)
from lateint.data import BeirDataset
from lateint.metrics import evaluate, run_from_scores
from lateint.similarity import maxsim


def tiny_dataset():
    corpus = {
        "venus": {"title": "", "text": "Venus is the hottest planet, by far."},
        "bread": {"title": "", "text": "Bread rises because yeast makes gas."},
        "piano": {"title": "", "text": "A piano has 88 keys: 52 white, 36 black."},
    }
    queries = {"q1": "Which planet is hottest?", "q2": "Why does bread rise?"}
    qrels = {"q1": {"venus": 1}, "q2": {"bread": 1, "piano": 0}}
    return BeirDataset("tiny", corpus, queries, qrels)


@pytest.fixture(scope="module")
def raw(encoder):
    return TokenVectors.encode(tiny_dataset(), encoder, cache=False)


def test_token_kind():
    assert [token_kind(t) for t in ["[CLS]", "[SEP]", ".", "?!", "##s", "planet", "[", "88"]] == [
        "special", "special", "punctuation", "punctuation", "word", "word", "punctuation", "word"]


def test_encode_gives_raw_aligned_vectors(raw):
    assert not raw.normalised and len(raw.queries) == 2 and len(raw.docs) == 3
    assert [v.shape[0] for v in raw.docs] == [len(t) for t in raw.document_tokens]
    assert not torch.allclose(raw.docs[0].norm(dim=-1), torch.ones(len(raw.document_tokens[0])))
    unit = raw.normalised_copy()
    assert unit.normalised and torch.allclose(unit.docs[0].norm(dim=-1), torch.ones(len(raw.document_tokens[0])))


def test_without_drops_the_right_tokens(raw):
    docs_only = raw.without(["punctuation"])
    assert all(token_kind(t) != "punctuation" for toks in docs_only.document_tokens for t in toks)
    assert docs_only.query_tokens == raw.query_tokens and docs_only.queries is raw.queries
    assert "?" in raw.query_tokens[0]
    both = raw.without(["punctuation", "special"], side="both")
    assert "?" not in both.query_tokens[0] and "[CLS]" not in both.document_tokens[0]
    kept = [i for i, t in enumerate(raw.document_tokens[2]) if token_kind(t) == "word"]
    torch.testing.assert_close(both.docs[2], raw.docs[2][kept])
    with pytest.raises(ValueError, match="kinds must be"):
        raw.without(["digits"])


def test_a_text_of_only_dropped_tokens_keeps_them():
    v = torch.ones(3, 4)
    tv = TokenVectors([v], [v], [["[CLS]", "?", "[SEP]"]], [["[CLS]", ".", "[SEP]"]])
    assert tv.without(["punctuation", "special"], "both").document_tokens == [["[CLS]", ".", "[SEP]"]]


def test_quality_equals_a_run_by_hand(raw):
    ds = tiny_dataset()
    unit = raw.normalised_copy()
    scores = torch.tensor([[maxsim(q, d) for d in unit.docs] for q in unit.queries])
    expected = evaluate(run_from_scores(scores, ds.query_ids, ds.doc_ids), ds.qrels, ["ndcg@10", "recall@2"])
    assert maxsim_quality(ds, unit, ["ndcg@10", "recall@2"]) == pytest.approx(expected)
    with pytest.raises(ValueError, match="TokenVectors.encode"):
        maxsim_quality(ds, TokenVectors(unit.queries[:1], unit.docs, unit.query_tokens[:1], unit.document_tokens))


def test_win_shares_count_the_picked_doc_tokens(raw):
    ds = tiny_dataset()
    unit = raw.normalised_copy()
    shares = win_shares(ds, unit)
    assert set(shares) == {"special", "punctuation", "word"} and sum(shares.values()) == pytest.approx(1)
    # count by hand: q1 x venus and q2 x bread (piano is judged 0, so it is skipped)
    picked = [unit.document_tokens[j][p] for i, j in ((0, 0), (1, 1)) for p in (unit.queries[i] @ unit.docs[j].T).argmax(1).tolist()]
    assert shares["special"] == pytest.approx(sum(token_kind(t) == "special" for t in picked) / len(picked))


def test_token_shares_count_document_tokens(raw):
    shares = token_shares(raw)
    kinds = [token_kind(t) for toks in raw.document_tokens for t in toks]
    assert shares["punctuation"] == pytest.approx(kinds.count("punctuation") / len(kinds))
    assert sum(shares.values()) == pytest.approx(1) and shares["special"] == pytest.approx(6 / len(kinds))


def test_mean_norms_and_variants(raw, capsys):
    norms = mean_norms(raw)
    assert set(norms) == {"special", "punctuation", "word"} and all(n > 1 for n in norms.values())
    assert mean_norms(raw.normalised_copy())["word"] == pytest.approx(1.0)
    table = variants(tiny_dataset(), raw, ["ndcg@10"])
    assert list(table) == ["normalised", "raw", "skiplist", "skiplist + [CLS]/[SEP]"]
    assert table["normalised"] == pytest.approx(maxsim_quality(tiny_dataset(), raw.normalised_copy(), ["ndcg@10"]))
    assert table["raw"] == pytest.approx(maxsim_quality(tiny_dataset(), raw, ["ndcg@10"]))
    assert "settings" not in capsys.readouterr().err
    assert variants(tiny_dataset(), raw, ["ndcg@10"], show_progress=True) == table  # the bar changes nothing
    assert "settings: 100%" in (bar := capsys.readouterr().err) and "4/4" in bar  # one step per setting
    with pytest.raises(ValueError, match="raw vectors"):
        variants(tiny_dataset(), raw.normalised_copy())
