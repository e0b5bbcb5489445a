"""SideBySide: pooled and MaxSim over the same documents, from one forward pass."""
import pytest
import torch

from lateint import maxsim
from lateint.side_by_side import SideBySide, format_results

DOCS = {
    "venus": "Venus is the hottest planet in the solar system.",
    "bread": "Bread rises because yeast releases carbon dioxide.",
    "piano": "A standard piano has 88 keys.",
}


@pytest.fixture(scope="module")
def both(encoder):
    return SideBySide(encoder, list(DOCS), list(DOCS.values()), cache=False)


def test_indexes_hold_the_same_documents(both):
    enc = both.encoder
    assert len(both) == 3 and both.document_tokens == enc.document_tokens(list(DOCS.values()))
    torch.testing.assert_close(both.pooled.vectors, enc.encode_pooled(list(DOCS.values())), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(both.doc_vectors("piano"), enc.encode_documents([DOCS["piano"]])[0], atol=1e-5, rtol=1e-4)
    with pytest.raises(KeyError, match="Unknown doc id"):
        both.doc_vectors("nope")


def test_search_ranks_by_each_method(both):
    q = both.encode_query("which planet is hottest")
    assert q.tokens[0] == "[CLS]" and q.vectors.shape == (len(q.tokens), 384) and q.pooled.shape == (384,)
    results = both.search(q, k=2)
    assert set(results) == {"pooled", "maxsim"} and all(len(r) == 2 for r in results.values())
    expected = sorted(((maxsim(q.vectors, both.doc_vectors(d)), d) for d in DOCS), reverse=True)[:2]
    assert [(d, pytest.approx(s, abs=1e-5)) for s, d in expected] == results["maxsim"]
    assert results["pooled"][0][0] == "venus" and -1 <= results["pooled"][0][1] <= 1
    assert both.search("which planet is hottest", k=2) == results  # text or encoded query alike


def test_bad_input():
    with pytest.raises(ValueError, match="align"):
        SideBySide(None, ["a", "b"], ["only one"])


def test_format_results_is_a_readable_table():
    text = format_results({"pooled": [("venus", 0.81), ("piano", 0.1)], "maxsim": [("venus", 6.5)]})
    lines = text.splitlines()
    assert lines[0].split() == ["rank", "pooled", "maxsim"]
    assert lines[2].split() == ["1", "venus", "0.810", "venus", "6.500"]
    assert lines[3].split() == ["2", "piano", "0.100"]
    with pytest.raises(ValueError, match="empty"):
        format_results({})
