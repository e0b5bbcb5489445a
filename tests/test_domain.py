"""domain.py: word-piece fragmentation and query-document word overlap."""
import pytest

from lateint.data import BeirDataset
from lateint.lessons.domain import fragmentation, query_overlap, query_overlaps


@pytest.fixture(scope="module")
def tokenizer(encoder):
    return encoder.tokenizer


def test_fragmentation_counts_pieces_per_word(tokenizer):
    pieces = {w: len(tokenizer.tokenize(w)) for w in ("the", "protein", "hypercholesterolemia")}
    assert pieces["the"] == 1 and pieces["hypercholesterolemia"] > 2
    got = fragmentation(tokenizer, ["The protein, the protein!", "hypercholesterolemia 42"])
    assert got["words"] == 5  # numbers are not words
    assert got["pieces_per_word"] == pytest.approx((4 + pieces["hypercholesterolemia"]) / 5)
    assert got["split_share"] == pytest.approx(1 / 5)
    plain = fragmentation(tokenizer, ["the cat sat on the mat"])
    medical = fragmentation(tokenizer, ["thrombocytopenia and hyperlipidemia in nephrotic syndrome"])
    assert plain["pieces_per_word"] == 1.0 and medical["pieces_per_word"] > 1.5


def test_fragmentation_bad_input(tokenizer):
    with pytest.raises(TypeError, match="list of strings"):
        fragmentation(tokenizer, "one text")
    with pytest.raises(ValueError, match="no words"):
        fragmentation(tokenizer, ["123 !!"])


def test_query_overlap_by_hand():
    ds = BeirDataset(
        "toy",
        corpus={"d1": {"title": "", "text": "Vitamin and bone health"}, "d2": {"title": "", "text": "Cats sleep a lot"}},
        queries={"q1": "Vitamin for the bones?", "q2": "the of"},
        qrels={"q1": {"d1": 1, "d2": 0}, "q2": {"d2": 1}},
    )
    # q1's content words are vitamin and bones ("for", "the" are stopwords); d1 has "vitamin", not
    # "bones"; d2 is not relevant and q2 has no content word, so neither counts
    assert query_overlap(ds) == pytest.approx(1 / 2)
    with pytest.raises(ValueError, match="no relevant"):
        query_overlap(BeirDataset("e", ds.corpus, {"q2": "the of"}, {"q2": {"d2": 1}}))


def test_query_overlaps_per_query_by_hand():
    ds = BeirDataset(
        "toy",
        corpus={"d1": {"title": "", "text": "Vitamin and bone health"}, "d2": {"title": "", "text": "Bones need vitamin D"},
                "d3": {"title": "", "text": "Cats sleep a lot"}},
        queries={"q1": "Vitamin for the bones?", "q2": "Cats dream?", "q3": "the of"},
        qrels={"q1": {"d1": 1, "d2": 2, "d3": 0}, "q2": {"d3": 1}, "q3": {"d3": 1}},
    )
    # q1: d1 has vitamin (1/2), d2 has both (2/2), d3 is not relevant; q2: cats, not dream (1/2); q3: no content word
    assert query_overlaps(ds) == pytest.approx({"q1": 3 / 4, "q2": 1 / 2})
    assert query_overlap(ds) == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)  # the pair mean, not the mean of queries
