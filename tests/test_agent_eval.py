"""agent_eval.py: the agent loop against single searches at the same budget."""
import pytest

from lateint.data import BeirDataset
from lateint.lessons.agent import OneSearch, searcher
from lateint.lessons.agent_eval import budget_compare, compare_sets, pivot
from lateint.lessons.failures import multihop_dataset

TINY = BeirDataset(
    "tiny",
    {d: {"title": "", "text": t} for d, t in {
        "mara-owns": "Mara owns the red bicycle.",
        "mara-plays": "Mara plays the oboe.",
        "tomas-owns": "Tomas owns the green canoe.",
        "tomas-plays": "Tomas plays the cello.",
    }.items()},
    {"q": "Which instrument does the person who owns the red bicycle play?"},
    {"q": {"mara-owns": 1, "mara-plays": 1}},
)


def test_budget_compare_on_a_tiny_corpus():
    search = searcher("bm25", TINY.doc_ids, TINY.doc_texts)
    table = budget_compare(TINY, search, k=1, calls=2)
    assert list(table) == ["one search, top 1", "one search, top 2", "feedback, 2 × top 1", "agent, up to 2 × top 1",
                           "agent + fallback, 2 × top 1"]
    # one document cannot hold both facts; the rules find Mara, then her instrument
    assert table["one search, top 1"]["all found"] == 0.0 and table["one search, top 1"]["recall"] == 0.5
    assert table["agent, up to 2 × top 1"]["all found"] == 1.0
    assert table["agent, up to 2 × top 1"]["searches"] == 2 and table["agent, up to 2 × top 1"]["decomposed"] == 1
    assert table["one search, top 2"]["searches"] == 1 and table["one search, top 2"]["docs"] == 2
    assert all(row["ms"] > 0 for row in table.values())
    assert table["agent + fallback, 2 × top 1"] | {"ms": 0} == table["agent, up to 2 × top 1"] | {"ms": 0}
    assert table["feedback, 2 × top 1"]["decomposed"] == 0 == table["one search, top 2"]["decomposed"]
    # the one-search rows are the same as asking the search directly
    top2 = [d for d, _ in search(TINY.queries["q"], 2)]
    assert table["one search, top 2"]["all found"] == float(set(top2) == {"mara-owns", "mara-plays"})
    with pytest.raises(ValueError, match="calls must be"):
        budget_compare(TINY, search, calls=0)
    with pytest.raises(ValueError, match="k must be"):
        budget_compare(TINY, search, k=0)


def test_no_strategy_spends_more_than_the_budget():
    ds = multihop_dataset()
    search = searcher("bm25", ds.doc_ids, ds.doc_texts)
    for k, calls in ((1, 2), (2, 3)):
        table = budget_compare(ds, search, k=k, calls=calls)
        for name, row in table.items():
            assert row["searches"] <= calls and row["docs"] <= k * calls, name
            assert 0 <= row["all found"] <= row["recall"] <= 1, name
        assert table[f"feedback, {calls} × top {k}"]["docs"] == k * calls  # new_only: every call brings k new ones
    # a decomposer that never splits is the one-search row; with the fallback, one search of the whole budget
    same = budget_compare(ds, search, decomposer=OneSearch(), k=1, calls=2)
    for got, expected in (("agent, up to 2 × top 1", "one search, top 1"), ("agent + fallback, 2 × top 1", "one search, top 2")):
        assert same[got]["all found"] == same[expected]["all found"] and same[got]["recall"] == same[expected]["recall"]
        assert same[got]["docs"] == same[expected]["docs"] and same[got]["decomposed"] == 0


def test_compare_sets_keys_and_errors():
    out = compare_sets({"tiny": TINY, "hop": multihop_dataset()}, methods=("bm25",))
    assert [key[:2] for key in out][::5] == [("tiny", "bm25"), ("hop", "bm25")] and len(out) == 10
    assert out[("tiny", "bm25", "agent, up to 2 × top 1")]["all found"] == 1.0
    with pytest.raises(ValueError, match="datasets is empty"):
        compare_sets({})
    with pytest.raises(ValueError, match="needs an encoder"):
        compare_sets({"tiny": TINY}, methods=("maxsim",))


def test_compare_sets_shows_progress_over_sets_and_methods_without_changing_the_rows(capsys):
    sets = {"tiny": TINY, "hop": multihop_dataset()}
    timeless = lambda out: {key: {m: v for m, v in row.items() if m != "ms"} for key, row in out.items()}  # noqa: E731
    quiet = compare_sets(sets, methods=("bm25",))
    assert "sets and methods" not in capsys.readouterr().err
    shown = compare_sets(sets, methods=("bm25",), show_progress=True)
    bar = capsys.readouterr().err
    assert "sets and methods: 100%" in bar and "2/2" in bar  # one step per (set, method) pair
    assert timeless(shown) == timeless(quiet)


def test_pivot_puts_methods_side_by_side():
    results = {("s", "bm25", "a"): {"all found": 1.0, "searches": 2, "docs": 2, "decomposed": 1.0, "ms": 3.0},
               ("s", "maxsim", "a"): {"all found": 0.5, "searches": 1, "docs": 1, "decomposed": 0.0, "ms": 9.0}}
    assert pivot(results, "all found") == {"s / a": {"searches": 1.5, "docs": 1.5, "decomposed": 0.5, "bm25": 1.0, "maxsim": 0.5}}
    assert pivot(results, "ms", spend=False) == {"s / a": {"bm25": 3.0, "maxsim": 9.0}}
    with pytest.raises(ValueError, match="unknown key 'ndcg'"):
        pivot(results, "ndcg")
    with pytest.raises(ValueError, match="results is empty"):
        pivot({}, "ms")
