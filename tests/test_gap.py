"""lessons/gap.py (the gap to perfect retrieval, split into ranking and never retrieved) and
lesson 06's figures: checked on tiny hand-made runs whose answers are worked out below."""
import math
import random

import matplotlib

matplotlib.use("Agg")

import ir_measures
import matplotlib.pyplot as plt
import pytest
from ir_measures import nDCG

from lateint.display import plots
from lateint.metrics import ranked_doc_ids
from lateint.lessons.gap import gap_split, gap_table, never_retrieved, oracle_run, plot_gap, top_of_runs

# q1 needs a and b, q2 needs c (grade 2) and d, q3 needs e. At depth 2:
# m1 retrieves a (q1) and c (q2), each below or beside a wrong document; b sits at its rank 3.
# m2 retrieves b (q1) and d (q2). Nobody retrieves e.
QRELS = {"q1": {"a": 1, "b": 1, "n": 0}, "q2": {"c": 2, "d": 1}, "q3": {"e": 1}}
RUNS = {
    "m1": {"q1": {"a": 3.0, "x": 2.0, "b": 1.0}, "q2": {"x": 2.0, "c": 1.0}, "q3": {"y": 1.0, "z": 0.5}},
    "m2": {"q1": {"b": 2.0, "y": 1.0}, "q2": {"d": 1.0}, "q3": {"z": 1.0}},
}
L3 = math.log2(3)  # the discount of rank 2
IDEAL = {"q1": 1 + 1 / L3, "q2": 2 + 1 / L3, "q3": 1.0}


def ndcg(dcgs):
    """Mean nDCG@10 over the three queries from each query's DCG, worked out by hand."""
    return sum(dcgs.get(q, 0.0) / IDEAL[q] for q in IDEAL) / len(IDEAL)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_top_of_runs_keeps_each_methods_best_documents():
    cut = top_of_runs(RUNS, 2)
    assert cut["m1"]["q1"] == {"a": 3.0, "x": 2.0}  # b, at rank 3, was not retrieved at depth 2
    assert cut["m2"] == RUNS["m2"]
    with pytest.raises(ValueError, match="positive int"):
        top_of_runs(RUNS, 0)


def test_oracle_ranks_the_unions_relevant_documents_by_grade():
    oracle = oracle_run(RUNS, QRELS, depth=2)
    assert set(oracle) == set(QRELS)
    assert ranked_doc_ids(oracle["q1"]) in (["a", "b"], ["b", "a"]) and "n" not in oracle["q1"]
    assert ranked_doc_ids(oracle["q2"]) == ["c", "d"]  # grade 2 first
    assert oracle["q3"] == {}  # e was never retrieved
    # deeper, m1 also retrieves b; the union does not change, m1 alone does
    assert set(oracle_run({"m1": RUNS["m1"]}, QRELS, depth=2)["q1"]) == {"a"}
    assert set(oracle_run({"m1": RUNS["m1"]}, QRELS, depth=3)["q1"]) == {"a", "b"}


def test_never_retrieved_counts_relevant_judgements_outside_every_top_depth():
    assert never_retrieved(RUNS, QRELS, depth=2) == {
        "relevant": 5, "never retrieved": 1, "share never retrieved": 0.2, "queries with none retrieved": 1}
    only_m2 = never_retrieved({"m2": RUNS["m2"]}, QRELS, depth=1)  # a, c and e missed
    assert only_m2["never retrieved"] == 3 and only_m2["queries with none retrieved"] == 1


def test_gap_split_on_hand_made_runs():
    split = gap_split(RUNS, QRELS, depth=2)
    best = ndcg({"q1": 1.0, "q2": 2 / L3})  # m1: a at rank 1, c (grade 2) at rank 2
    m2 = ndcg({"q1": 1.0, "q2": 1.0})  # b at rank 1, d at rank 1
    assert best > m2 and split["best method"] == "m1"
    assert split["best"] == pytest.approx(best)
    assert split["best reordered"] == pytest.approx(ndcg({"q1": 1.0, "q2": 2.0}))  # c moved to rank 1
    assert split["union reordered"] == pytest.approx(ndcg(IDEAL | {"q3": 0.0}))  # q1, q2 perfect
    assert split["never retrieved"] == pytest.approx(1 / 3)  # q3 alone
    assert split["gap"] == pytest.approx(1 - best)
    parts = split["ranking, own top depth"] + split["ranking, only another method"] + split["never retrieved"]
    assert parts == pytest.approx(split["gap"])


def test_oracle_ndcg_agrees_with_ir_measures():
    oracle = oracle_run(RUNS, QRELS, depth=2)
    reference = ir_measures.calc_aggregate([nDCG @ 10], QRELS, {q: d or {"none": 0.0} for q, d in oracle.items()})
    assert gap_split(RUNS, QRELS, depth=2)["union reordered"] == pytest.approx(reference[nDCG @ 10])


def test_gap_split_parts_are_never_negative_and_add_up():
    rng = random.Random(0)
    docs = [f"d{i}" for i in range(30)]
    qrels = {f"q{i}": {d: rng.choice([1, 2]) for d in rng.sample(docs, 4)} for i in range(20)}
    runs = {m: {q: {d: rng.random() for d in docs} for q in qrels} for m in ("a", "b", "c")}
    for depth in (1, 5, 12, 30):
        split = gap_split(runs, qrels, depth=depth)
        parts = [split[k] for k in ("ranking, own top depth", "ranking, only another method", "never retrieved")]
        assert min(parts) >= -1e-12 and sum(parts) == pytest.approx(split["gap"])
    assert gap_split(runs, qrels, depth=30)["never retrieved"] == pytest.approx(0)  # every document retrieved


def test_best_method_on_a_tie_is_the_first_in_order():
    assert gap_split({"z": RUNS["m2"], "a": RUNS["m2"]}, QRELS, depth=2)["best method"] == "z"


def test_gap_table_has_a_row_per_method_and_the_union():
    table = gap_table(RUNS, QRELS, depth=2)
    assert list(table) == ["m1", "m2", "union"]
    assert table["m1"]["ndcg@10"] == pytest.approx(gap_split(RUNS, QRELS, depth=2)["best"])
    assert table["union"]["recall@2"] == pytest.approx((1 + 1 + 0) / 3)
    assert "ndcg@10" not in table["union"]
    assert table["m1"]["reordered"] <= table["union"]["reordered"]


@pytest.mark.parametrize(
    "runs, qrels, depth, message",
    [
        (RUNS, QRELS, 0, "depth must be a positive int"),
        ({}, QRELS, 2, "runs must be a non-empty dict"),
        (RUNS, {}, 2, "qrels is empty"),
        (RUNS, {"q1": {"a": 0}}, 2, "no relevant document"),
    ],
)
def test_bad_input_is_refused(runs, qrels, depth, message):
    with pytest.raises(ValueError, match=message):
        gap_split(runs, qrels, depth=depth)


def test_plot_gap_stacks_the_parts_to_one():
    splits = {"A": gap_split(RUNS, QRELS, depth=2), "B": gap_split(RUNS, QRELS, depth=3)}
    ax = plot_gap(splits, depth=2)
    widths = [p.get_width() for p in ax.patches]
    assert len(widths) == 4 * len(splits)
    for i in range(len(splits)):
        assert sum(widths[i::len(splits)]) == pytest.approx(1.0)
    assert len(ax.get_legend().get_texts()) == 4
    with pytest.raises(ValueError, match="not gap_split"):
        plot_gap({"A": {"best": 0.5}})


def test_line_panels_one_legend_and_overlapping_lines_stay_visible():
    sweeps = {"left": {"pooled": [3, 2, 1], "maxsim": [4, 4, 4], "bm25": [4, 4, 4]},
              "right": {"pooled": [1, 1, 1], "maxsim": [2, 3, 4], "bm25": [0, 0, 0]}}
    fig = plots.line_panels([0, 5, 15], sweeps, xlabel="x", ylabel="y", reference=(2, "chance"), ylim=(-1, 5))
    assert len(fig.axes) == 2 and all(ax.get_legend() is None for ax in fig.axes)
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == [plots.method_label(m) for m in ("pooled", "maxsim", "bm25")] + ["chance"]
    left = fig.axes[0]
    maxsim, bm25 = left.lines[1], left.lines[2]
    assert list(maxsim.get_ydata()) == list(bm25.get_ydata())  # the same values...
    # ...drawn so that both show: bm25 dashed and thinner, on top of the thick maxsim line
    assert bm25.get_linestyle() != maxsim.get_linestyle() and bm25.get_marker() != maxsim.get_marker()
    assert bm25.get_linewidth() < maxsim.get_linewidth() and bm25.get_zorder() > maxsim.get_zorder()
    assert left.get_ylim() == (-1, 5) and left.get_title() == "left"
    with pytest.raises(ValueError, match="panels is empty"):
        plots.line_panels([0], {}, xlabel="x", ylabel="y")
