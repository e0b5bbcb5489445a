"""lateint.display.plots, drawn headless (Agg): titles, labels, bar counts and heights, highlighted cells."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

from lateint.display import plots
from lateint.similarity import explain

TABLE = {"pooled": {"ndcg@10": 0.41, "recall@100": 0.7}, "maxsim": {"ndcg@10": 0.55, "recall@100": 0.8},
         "bm25": {"ndcg@10": 0.62, "recall@100": 0.9}}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def bar_heights(ax):
    return [p.get_height() for p in ax.patches if isinstance(p, Rectangle) and p.get_width() > 0]


def test_style_applies_projector_settings_and_rejects_typos():
    with plt.rc_context():
        plots.style(**{"font.size": 20})
        assert plt.rcParams["font.size"] == 20
        assert plt.rcParams["axes.titlesize"] == plots.PROJECTOR_STYLE["axes.titlesize"]
    with pytest.raises(ValueError, match="fontsize"):
        plots.style(fontsize=20)


def test_method_colors_are_fixed_and_labels_readable():
    assert plots.method_color("maxsim") == plots.METHOD_COLORS["maxsim"]
    assert plots.method_color("something else", 0) != plots.method_color("something else", 1)
    assert plots.method_label("pooled") == "pooled (1 vector)" and plots.method_label("x") == "x"


def test_bar_compare_one_bar_per_method_with_values():
    ax = plots.bar_compare(TABLE, "ndcg@10", title="SciFact slice")
    assert bar_heights(ax) == pytest.approx([0.41, 0.55, 0.62])
    assert ax.get_title() == "SciFact slice" and ax.get_ylabel() == "ndcg@10"
    assert [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()] == [plots.method_label(m) for m in TABLE]
    colours = [to_hex(p.get_facecolor()) for p in ax.patches]
    assert colours == [plots.METHOD_COLORS[m].lower() for m in TABLE]
    assert [t.get_text() for t in ax.texts] == ["0.410", "0.550", "0.620"]  # value labels
    assert ax.get_legend() is None


def test_bar_compare_method_order_and_missing_metric():
    ax = plots.bar_compare(TABLE, "recall@100", methods=["bm25", "pooled"], annotate=False)
    assert bar_heights(ax) == pytest.approx([0.9, 0.7]) and len(ax.texts) == 0
    with pytest.raises(KeyError, match="mrr@10"):
        plots.bar_compare(TABLE, "mrr@10")
    with pytest.raises(ValueError, match="empty"):
        plots.bar_compare({}, "ndcg@10")


def test_grouped_bars_per_dataset_and_method():
    other = {"pooled": {"ndcg@10": 0.2}, "maxsim": {"ndcg@10": 0.3}}  # no bm25 here: an empty slot
    ax = plots.grouped_bar_compare({"SciFact": TABLE, "NFCorpus": other}, "ndcg@10")
    heights = [p.get_height() for p in ax.patches]
    assert len(heights) == 6  # 3 methods x 2 datasets
    assert heights[:2] == pytest.approx([0.41, 0.2]) and np.isnan(heights[5])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["SciFact", "NFCorpus"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [plots.method_label(m) for m in TABLE]


def test_heatmap_outlines_each_rows_maximum():
    sim = torch.tensor([[0.1, 0.9, 0.3], [0.7, 0.2, 0.1]])
    ax = plots.similarity_heatmap(sim, ["q1", "q2"], ["d1", "d2", "d3"])
    outlined = [(p.get_y() + 0.5, p.get_x() + 0.5) for p in ax.patches]
    assert outlined == [(0, 1), (1, 0)]  # (row, column) of each row's max
    assert [t.get_text() for t in ax.get_yticklabels()] == ["q1", "q2"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["d1", "d2", "d3"]
    assert ax.get_xlabel() == "document token" and ax.get_ylabel() == "query token" and ax.get_title()
    assert len(ax.texts) == 6  # small matrix: every value written
    assert ax.figure.axes[-1].get_ylabel() == "similarity"  # the colour bar


def test_heatmap_matches_explain_on_random_vectors():
    gen = torch.Generator().manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(5, 8, generator=gen), dim=-1)
    d = torch.nn.functional.normalize(torch.randn(20, 8, generator=gen), dim=-1)
    ax = plots.similarity_heatmap(q @ d.T, list("abcde"), [f"t{j}" for j in range(20)])
    picked = [int(p.get_x() + 0.5) for p in ax.patches]
    assert picked == [m.doc_position for m in explain(q, d)]
    assert len(ax.texts) == 0  # 20 columns: too many to annotate


def test_heatmap_without_highlight_and_bad_labels():
    ax = plots.similarity_heatmap(np.eye(3), ["a", "b", "c"], ["x", "y", "z"], highlight_max=False)
    assert len(ax.patches) == 0
    with pytest.raises(ValueError, match="2 query tokens"):
        plots.similarity_heatmap(np.eye(3), ["a", "b"], ["x", "y", "z"])
    with pytest.raises(ValueError, match="2-D"):
        plots.similarity_heatmap(np.ones(3), ["a"], ["x"])


def test_contribution_bars_add_up_to_maxsim():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    d = torch.tensor([[0.6, 0.8], [1.0, 0.0]])
    ax = plots.contribution_bars(explain(q, d, ["a", "b"], ["x", "y"]))
    assert [p.get_width() for p in ax.patches] == pytest.approx([1.0, 0.8])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a -> y", "b -> x"]
    assert "1.80" in ax.get_title() and ax.get_xlabel()


def test_line_compare_and_needle_curve():
    x = [10, 50, 100]
    scores = {"pooled": [0.8, 0.5, 0.4], "maxsim": [0.85, 0.75, 0.7]}
    ax = plots.line_compare(x, scores, xlabel="tokens", ylabel="score", title="t")
    assert [to_hex(line.get_color()) for line in ax.lines] == [plots.METHOD_COLORS["pooled"].lower(), plots.METHOD_COLORS["maxsim"].lower()]
    assert list(ax.lines[1].get_ydata()) == scores["maxsim"]
    with pytest.raises(ValueError, match="2 values"):
        plots.line_compare(x, {"pooled": [1, 2]}, xlabel="", ylabel="", title="")

    fig = plots.needle_curve(x, scores)
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 2
    assert fig.axes[0].get_xlabel() == "document length (tokens)"

    fig = plots.needle_curve(x, scores, baseline={"pooled": [np.nan, 0.1, 0.1], "maxsim": [np.nan, 0.2, 0.3]},
                             ranks={"pooled": [1, 3, 5], "maxsim": [1, 1, 1]}, n_candidates=40)
    score_ax, rank_ax = fig.axes
    assert [line.get_linestyle() for line in score_ax.lines] == ["-", "-", "--", "--"]
    assert rank_ax.yaxis_inverted() and "40" in rank_ax.get_ylabel()
    assert rank_ax.get_ylim()[1] == 0.5  # rank 1 at the top



def _overlaps(boxes):
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])]


def test_label_points_merges_coincident_points_and_never_overlaps():
    fig, ax = plt.subplots(figsize=(6, 4))
    x = [1.0, 1.0, 1.02, 2.0, 2.3, 3.0, 3.0]
    y = [0.50, 0.50, 0.505, 0.50, 0.50, 0.20, 0.80]
    names = ["a", "b", "c", "a rather long name", "another long name", "low", "high"]
    ax.scatter(x, y)
    ax.set_xlim(0.5, 4)
    ax.set_ylim(0, 1)
    drawn = plots.label_points(ax, x, y, names)
    texts = [a.get_text() for a in drawn]
    assert "a / b / c" in texts  # the three points drawn at one place share one label
    assert sorted(t for a in texts for t in a.split(" / ")) == sorted(names)  # every name shown once
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [a.get_window_extent(renderer) for a in drawn]
    assert _overlaps(boxes) == []
    frame = ax.get_window_extent(renderer)
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 for b in boxes)  # nothing runs off the axes
    with pytest.raises(ValueError, match="one of each per point"):
        plots.label_points(ax, [1.0], [1.0, 2.0], ["a"])


def test_metric_label_spells_metrics_as_the_lessons_do():
    assert plots.metric_label("ndcg@10") == "nDCG@10"
    assert plots.metric_label("R@100") == "Recall@100"
    with pytest.raises(ValueError, match="unknown metric"):
        plots.metric_label("accuracy")
