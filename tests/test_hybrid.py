"""hybrid.py: reciprocal rank fusion and min-max score interpolation."""
import pytest

from lateint.metrics import evaluate, ranked_doc_ids
from lateint.lessons.hybrid import (
    best_alpha,
    interpolate,
    minmax,
    plot_alpha_sweep,
    rrf,
    split_qrels,
    sweep_alpha,
)

BM25 = {"q1": {"a": 12.0, "b": 7.0, "c": 1.0}, "q2": {"x": 3.0, "y": 2.0}}
DENSE = {"q1": {"c": 0.9, "a": 0.8, "d": 0.1}, "q2": {"y": 0.7, "z": 0.6, "x": 0.2}}


def test_rrf_by_hand():
    fused = rrf([BM25, DENSE], k=60)
    # a: rank 1 and 2; c: rank 3 and 1; b: rank 2 only; d: rank 3 only
    assert fused["q1"]["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["q1"]["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert fused["q1"]["b"] == pytest.approx(1 / 62)
    assert ranked_doc_ids(fused["q1"]) == ["a", "c", "b", "d"]
    # only ranks matter: rescaling one run's scores changes nothing
    scaled = {q: {d: 1000 * s for d, s in r.items()} for q, r in BM25.items()}
    assert rrf([scaled, DENSE]) == fused


def test_rrf_depth_weights_and_missing_queries():
    top1 = rrf([BM25, DENSE], depth=1)
    assert top1["q1"] == pytest.approx({"a": 1 / 61, "c": 1 / 61})
    weighted = rrf([BM25, DENSE], weights=[2.0, 0.0])
    assert ranked_doc_ids(weighted["q1"])[:3] == ranked_doc_ids(BM25["q1"])
    only_one = rrf([BM25, {"q1": {"a": 1.0}}])
    assert only_one["q2"] == pytest.approx({"x": 1 / 61, "y": 1 / 62})  # q2 missing from the second run


def test_minmax_and_interpolate():
    n = minmax(BM25)
    assert n["q1"] == pytest.approx({"a": 1.0, "b": 6 / 11, "c": 0.0})
    assert minmax({"q": {"a": 5.0, "b": 5.0}})["q"] == {"a": 1.0, "b": 1.0}
    assert minmax({"q": {}})["q"] == {}
    half = interpolate(BM25, DENSE, 0.5)
    # a: bm25 1.0, dense (0.8-0.1)/0.8 ; d: missing from bm25 -> 0
    assert half["q1"]["a"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.7 / 0.8)
    assert half["q1"]["d"] == pytest.approx(0.0)
    assert half["q1"]["b"] == pytest.approx(0.5 * 6 / 11)
    # the ends of the range give back each run's own ranking, down to its worst document,
    # which ties at 0 with the documents it did not retrieve
    only_bm25 = interpolate(BM25, DENSE, 1.0)["q1"]
    assert ranked_doc_ids(only_bm25)[:2] == ["a", "b"] and only_bm25["c"] == only_bm25["d"] == 0.0
    assert ranked_doc_ids(interpolate(BM25, DENSE, 0.0)["q2"]) == ranked_doc_ids(DENSE["q2"])


def test_sweep_and_best_alpha_follow_the_better_run():
    qrels = {"q1": {"c": 1}, "q2": {"y": 1}}  # the dense run is right on both
    alphas = [0.0, 0.5, 1.0]
    values = sweep_alpha(BM25, DENSE, qrels, alphas, "MRR@10")
    assert values[0] == pytest.approx(1.0) == evaluate(DENSE, qrels, ["mrr@10"])["mrr@10"]
    # alpha = 1: BM25's ranking, its last-ranked right answers now tied with unretrieved docs
    assert values[-1] < values[1] < values[0]
    assert best_alpha(BM25, DENSE, qrels, alphas, "mrr@10") == 0.0
    assert best_alpha(DENSE, BM25, qrels, alphas, "mrr@10") == 1.0


def test_split_qrels_is_a_seeded_partition():
    qrels = {f"q{i}": {"d": 1} for i in range(10)}
    dev, test = split_qrels(qrels, 3, seed=1)
    assert len(dev) == 3 and len(test) == 7 and not set(dev) & set(test)
    assert set(dev) | set(test) == set(qrels)
    assert split_qrels(qrels, 3, seed=1) == (dev, test)
    assert split_qrels(qrels, 3, seed=2)[0] != dev


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: rrf(BM25), "list of runs"),
        (lambda: rrf([]), "no runs"),
        (lambda: rrf([BM25], weights=[1, 2]), "one weight per run"),
        (lambda: rrf([BM25], depth=0), "depth"),
        (lambda: interpolate(BM25, DENSE, 1.5), "alpha"),
        (lambda: sweep_alpha(BM25, DENSE, {"q1": {"a": 1}}, []), "alphas is empty"),
        (lambda: split_qrels({"q": {"d": 1}}, 1), "n_dev"),
    ],
)
def test_bad_input_is_explained(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_held_out_fusion_tunes_on_dev_and_scores_on_test():
    from lateint.lessons.hybrid import held_out_fusion

    # 20 queries: the dense run is right on all of them, BM25 only on its first five
    qrels = {f"q{i}": {f"d{i}": 1} for i in range(20)}
    dense = {f"q{i}": {f"d{i}": 0.9, "junk": 0.5} for i in range(20)}
    bm25 = {f"q{i}": ({f"d{i}": 9.0, "junk": 1.0} if i < 5 else {"junk": 9.0, f"d{i}": 1.0}) for i in range(20)}
    rows = held_out_fusion(bm25, dense, qrels, n_dev=5, seeds=(0, 1))
    assert list(rows) == ["split 0", "split 1", "mean"]
    for seed in (0, 1):
        out = rows[f"split {seed}"]
        dev, test = split_qrels(qrels, 5, seed=seed)
        assert out["alpha"] == best_alpha(bm25, dense, dev, [i / 10 for i in range(11)])
        assert out["alpha"] < 0.5  # the dense run carries the weight
        assert out["b"] == pytest.approx(1.0) == out["tuned"]
        assert out["a"] == pytest.approx(evaluate(bm25, test, ["ndcg@10"])["ndcg@10"])
        assert out["a"] <= out["alpha=0.5"] <= out["tuned"] and out["a"] < out["tuned"]
    assert rows["mean"]["a"] == pytest.approx((rows["split 0"]["a"] + rows["split 1"]["a"]) / 2)
    assert set(rows["mean"]) == {"alpha", "a", "b", "rrf", "alpha=0.5", "tuned"}
    with pytest.raises(ValueError, match="seeds is empty"):
        held_out_fusion(bm25, dense, qrels, n_dev=5, seeds=())


def test_alpha_sweep_plot_says_its_best_point_is_tuned_on_the_test_queries():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alphas = [0.0, 0.5, 1.0]
    ax = plot_alpha_sweep(alphas, [0.80, 0.90, 0.85], "MaxSim", "BM25", marks={"maxsim": 0.85, "bm25": 0.80})
    assert ax.get_title().endswith("(best α picked on the very queries it is scored on)")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:3] == ["MaxSim + BM25 (interpolated)", "MaxSim (token vectors)", "BM25"]
    assert legend[3].startswith("best α = 0.5") and "test queries" in legend[3]
    star = ax.lines[-1]
    assert list(star.get_xdata()) == [0.5] and list(star.get_ydata()) == [0.90]
    anchor = ax.get_legend().get_bbox_to_anchor().transformed(ax.transAxes.inverted())
    assert anchor.y1 < 0  # the legend sits below the axes, not on the curve
    with pytest.raises(ValueError, match="2 values"):
        plot_alpha_sweep(alphas, [0.8, 0.9], "a", "b")
    plt.close("all")
