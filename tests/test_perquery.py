"""perquery.py: per-query comparison of two runs, with a bootstrap interval."""
import numpy as np
import pytest

from lateint.metrics import evaluate
from lateint.lessons.perquery import bootstrap_interval, halves, paired, ratio_interval, relative_gain

QRELS = {f"q{i}": {"good": 1} for i in range(6)}


def run_with_good_at(ranks):
    """A run where the relevant doc sits at the given rank (1-based) for each query."""
    run = {}
    for i, r in enumerate(ranks):
        docs = [f"x{j}" for j in range(5)]
        docs.insert(r - 1, "good")
        run[f"q{i}"] = {d: float(10 - j) for j, d in enumerate(docs)}
    return run


def test_paired_counts_wins_losses_and_means():
    a = run_with_good_at([1, 2, 3, 1, 4, 2])
    b = run_with_good_at([1, 1, 1, 2, 1, 2])
    p = paired(a, b, QRELS, "MRR@10")
    assert p.metric == "mrr@10" and len(p.per_query) == 6
    assert (p.wins, p.losses, p.ties) == (3, 1, 2)
    assert p.mean_a == pytest.approx(evaluate(a, QRELS, ["mrr@10"])["mrr@10"])
    assert p.mean_b == pytest.approx(evaluate(b, QRELS, ["mrr@10"])["mrr@10"])
    assert p.mean_delta == pytest.approx(p.mean_b - p.mean_a)
    assert p.largest(2, "wins") == [("q4", 0.25, 1.0), ("q2", pytest.approx(1 / 3), 1.0)]  # biggest gain first
    assert p.largest(5, "losses") == [("q3", 1.0, 0.5)]
    line = p.summary("pooled", "maxsim")
    assert "maxsim wins 3, loses 1, ties 2" in line and f"{p.mean_delta:+.3f}" in line
    with pytest.raises(ValueError, match="direction"):
        p.largest(1, "draws")


def test_bootstrap_interval_brackets_the_mean_and_is_seeded():
    rng = np.random.default_rng(0)
    ranks_a = rng.integers(1, 6, size=6).tolist()
    a, b = run_with_good_at(ranks_a), run_with_good_at([1] * 6)
    p = paired(a, b, QRELS, "mrr@10", seed=1)
    lo, hi = p.ci
    assert lo <= p.mean_delta <= hi
    assert paired(a, b, QRELS, "mrr@10", seed=1).ci == p.ci
    same = paired(a, a, QRELS, "mrr@10")
    assert same.ci == (0.0, 0.0) and same.ties == 6


def test_relative_gain():
    assert relative_gain(0.5, 0.6) == pytest.approx(0.2)
    assert relative_gain(0.8, 0.6) == pytest.approx(-0.25)
    with pytest.raises(ValueError, match="positive"):
        relative_gain(0.0, 0.3)


def test_bad_input():
    run = run_with_good_at([1] * 6)
    with pytest.raises(ValueError, match="unknown metric"):
        paired(run, run, QRELS, "accuracy")
    with pytest.raises(ValueError, match="n_resamples"):
        paired(run, run, QRELS, n_resamples=5)


def test_plot_paired_draws_one_dot_per_distinct_pair():
    import matplotlib

    matplotlib.use("Agg")
    from lateint.lessons.perquery import plot_paired

    a = run_with_good_at([1, 1, 3, 1, 4, 2])
    b = run_with_good_at([1, 1, 1, 2, 1, 2])
    p = paired(a, b, QRELS, "mrr@10")
    ax = plot_paired(p, "pooled", "maxsim")
    distinct = {(round(x, 3), round(y, 3)) for x, y in p.per_query.values()}
    assert len(ax.collections[0].get_offsets()) == len(distinct)
    assert "wins 2, loses 1, ties 3" in ax.get_title()
    assert [t.get_text() for t in ax.texts] == ["x2"]  # only (1, 1) appears twice
    named = plot_paired(p, "pooled", "maxsim", title="NFCorpus slice")
    assert named.get_title() == "NFCorpus slice\nmaxsim wins 2, loses 1, ties 3"


def test_promoted_finds_the_document_that_moved_up_most():
    from lateint.lessons.perquery import promoted

    qrels = {"q": {"r1": 1, "r2": 2}}
    a = {"q": {"x": 5.0, "r1": 4.0, "y": 3.0, "z": 2.0, "r2": 1.0}}
    b = {"q": {"r2": 5.0, "z": 4.0, "r1": 3.0, "x": 2.0, "new": 1.0}}
    assert promoted(a, b, "q", qrels, relevant=True) == ("r2", 5, 1)  # r1 moved down
    assert promoted(a, b, "q", qrels, relevant=False) == ("z", 4, 2)  # "new" was absent from a: rank 6 -> 5 lifts 1
    assert promoted(a, b, "q", qrels, relevant=False, k=1) is None
    assert promoted(b, a, "q", qrels, relevant=True) == ("r1", 3, 2)  # the other way round, r1 moved up
    with pytest.raises(ValueError, match="not in run_b"):
        promoted(a, b, "other", qrels, relevant=True)


def test_ratio_interval_is_a_ratio_of_sums_resampled_in_pairs():
    num, den = [0.1, 0.0, 0.3, 0.2, 0.0], [0.2, 0.0, 0.6, 0.8, 0.4]
    share, lo, hi = ratio_interval(num, den, 2000, 0)
    assert share == pytest.approx(0.6 / 2.0)  # not the mean of per-query ratios (a query with no gap weighs nothing)
    assert lo <= share <= hi and (lo, hi) != (share, share)
    assert ratio_interval(num, den, 2000, 0) == (share, lo, hi)  # seeded
    same = ratio_interval([0.5, 0.25], [1.0, 0.5], 500, 3)  # every query the same ratio: no spread, in pairs
    assert same == pytest.approx((0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="same length"):
        ratio_interval([0.1], [0.2, 0.3])
    with pytest.raises(ValueError, match="nothing to divide"):
        ratio_interval([0.0, 0.0], [0.0, 0.0])


def test_halves_split_at_the_median():
    values = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 5.0}
    by = {"a": 0.1, "b": 0.5, "c": 0.5, "d": 0.9, "e": 0.7, "x": 0.0}  # median 0.5 of the common queries
    assert halves(values, by) == (pytest.approx(4.5), pytest.approx(2.0))  # d, e above; a, b, c at or below
    with pytest.raises(ValueError, match="cannot be halved"):
        halves({"a": 1.0, "b": 2.0}, {"a": 0.3, "b": 0.3})
    with pytest.raises(ValueError, match="at least 2"):
        halves({"a": 1.0}, {"a": 0.3})


def test_bootstrap_interval_of_a_paired_gap_matches_paired():
    a, b = run_with_good_at([1, 2, 3, 1, 5, 2]), run_with_good_at([1, 1, 2, 4, 1, 1])
    p = paired(a, b, QRELS, "mrr@10", seed=4)
    deltas = [vb - va for va, vb in p.per_query.values()]
    assert bootstrap_interval(deltas, 2000, 4) == p.ci
