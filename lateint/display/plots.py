"""Plots for the lessons, readable on a projector.

Every function draws on a matplotlib ``Axes`` (pass ``ax=`` to place it in your own
figure, or leave it out for a new one) and returns what it drew on, so a lesson can
add a line or a note afterwards. Call :func:`style` once at the top of a notebook
for large fonts, thick lines and a light grid.

The methods compared throughout the course keep the same colour everywhere
(colour-blind safe, Okabe-Ito palette): see :data:`METHOD_COLORS` and
:func:`method_label`.

- :func:`bar_compare`: one metric, one bar per method, from a ``{method: {metric: value}}``
  table (what :func:`lateint.comparison.compare` returns);
- :func:`grouped_bar_compare`: the same for several datasets side by side;
- :func:`similarity_heatmap`: the query-token x document-token similarity matrix,
  with each row's maximum (the match MaxSim keeps) outlined;
- :func:`contribution_bars`: each query token's best similarity, the parts MaxSim adds up;
- :func:`line_compare` and :func:`needle_curve`: scores (and ranks) against document length;
- :func:`label_points`: labels for scattered points that never overlap (points drawn on top of
  each other share one label).
- :func:`line_panels`: several ``line_compare`` panels side by side with one shared legend, each
  method in its own line style and marker so that lines on top of each other stay visible
  (lesson 06's sweeps).

To print the same tables as text, use :func:`lateint.display.tables.format_table`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

__all__ = [
    "PROJECTOR_STYLE",
    "METHOD_COLORS",
    "style",
    "method_color",
    "method_label",
    "metric_label",
    "bar_compare",
    "grouped_bar_compare",
    "similarity_heatmap",
    "contribution_bars",
    "line_compare",
    "needle_curve",
    "label_points",
    "line_panels",
]

# rcParams for a room: big type, thick lines, no chart junk.
PROJECTOR_STYLE: dict[str, object] = {
    "figure.figsize": (9.0, 5.0),
    "figure.dpi": 100,
    "figure.autolayout": True,
    "font.size": 14,
    "axes.titlesize": 16,
    "axes.titleweight": "bold",
    "axes.labelsize": 14,
    "axes.grid": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "grid.alpha": 0.3,
    "legend.fontsize": 12,
    "legend.frameon": False,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "lines.linewidth": 2.5,
    "lines.markersize": 7,
}

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
METHOD_COLORS: dict[str, str] = {"pooled": "#E69F00", "maxsim": "#0072B2", "bm25": "#999999"}
_OTHER_COLORS = ["#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000"]
_LABELS = {"pooled": "pooled (1 vector)", "maxsim": "MaxSim (token vectors)", "bm25": "BM25"}
HIGHLIGHT = "#D55E00"  # outlines the cell MaxSim picked


def style(**overrides: object) -> None:
    """Apply :data:`PROJECTOR_STYLE` (plus ``overrides``, rcParams names) to matplotlib.

    >>> style(**{"font.size": 18})  # even larger type  # doctest: +SKIP
    """
    settings = {**PROJECTOR_STYLE, **overrides}
    unknown = [k for k in settings if k not in plt.rcParams]
    if unknown:
        raise ValueError(f"Unknown matplotlib rcParams {unknown}; see matplotlib.rcParams.keys() for valid names.")
    plt.rcParams.update(settings)


def method_label(method: str) -> str:
    """Display name of a method: ``"maxsim"`` -> ``"MaxSim (token vectors)"``; others unchanged."""
    return _LABELS.get(method, method)


_METRIC_NAMES = {"ndcg": "nDCG", "recall": "Recall", "mrr": "MRR", "precision": "P"}


def metric_label(metric: str) -> str:
    """Display name of a metric: ``"ndcg@10"`` -> ``"nDCG@10"``, ``"recall@100"`` -> ``"Recall@100"``."""
    from ..metrics import parse_metric

    base, k = parse_metric(metric)
    return f"{_METRIC_NAMES.get(base, base)}@{k}"


def method_color(method: str, index: int = 0) -> str:
    """The method's fixed colour; other names take the ``index``-th spare colour."""
    return METHOD_COLORS.get(method, _OTHER_COLORS[index % len(_OTHER_COLORS)])


def _new_axes(ax: Axes | None, figsize: tuple[float, float] | None = None) -> Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax


# ----------------------------------------------------------------------------- bars


def _value(tables: Mapping[str, Mapping[str, Mapping[str, float]]], group: str, method: str, metric: str) -> float:
    row = tables[group].get(method)
    if row is None:
        return float("nan")  # a method missing from one dataset: an empty slot, not an error
    if metric not in row:
        where = f" for {group!r}" if group else ""
        raise KeyError(f"No {metric!r} for method {method!r}{where}; that row has {sorted(row)}.")
    return float(row[metric])


def grouped_bar_compare(
    tables: Mapping[str, Mapping[str, Mapping[str, float]]],
    metric: str,
    *,
    methods: Sequence[str] | None = None,
    title: str | None = None,
    ylabel: str | None = None,
    ylim: tuple[float, float] | None = (0.0, 1.08),
    ax: Axes | None = None,
    annotate: bool = True,
) -> Axes:
    """Bars of one ``metric``: a group per dataset, a bar per method.

    Args:
        tables: ``{dataset: {method: {metric: value}}}``, e.g.
            ``{"SciFact": compare(scifact, enc), "NFCorpus": compare(nfcorpus, enc)}``.
        metric: the metric to draw, e.g. ``"ndcg@10"``.
        methods: bar order (default: the order of the first table, then new ones).
        ylim: y-axis range (metrics in [0, 1], with room for the labels, by default;
            ``None`` for automatic).
        annotate: write each value above its bar (3 decimals).

    Returns:
        The ``Axes``: ``len(methods) * len(tables)`` bars, one legend entry per method.
    """
    if not tables:
        raise ValueError("tables is empty: pass {dataset: {method: {metric: value}}}.")
    groups = list(tables)
    if methods is None:
        methods = list(dict.fromkeys(m for g in groups for m in tables[g]))
    ax = _new_axes(ax)
    x = np.arange(len(groups))
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        values = [_value(tables, g, method, metric) for g in groups]
        offset = (i - (len(methods) - 1) / 2) * width
        bars = ax.bar(x + offset, values, 0.9 * width, label=method_label(method), color=method_color(method, i))
        if annotate:
            ax.bar_label(bars, labels=["" if np.isnan(v) else f"{v:.3f}" for v in values], padding=2, fontsize=11)
    ax.set_xticks(x, groups)
    ax.set_ylabel(ylabel or metric)
    ax.set_title(title or f"{metric} by method")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(axis="x", visible=False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def bar_compare(
    table: Mapping[str, Mapping[str, float]],
    metric: str,
    *,
    methods: Sequence[str] | None = None,
    **options,
) -> Axes:
    """One bar per method for one ``metric`` of a ``{method: {metric: value}}`` table.

    This is the table :func:`lateint.comparison.compare` returns. Bars are labelled
    with the method names under them. ``options`` (``title``, ``ylabel``, ``ylim``,
    ``ax``, ``annotate``) are those of :func:`grouped_bar_compare`.
    """
    if not table:
        raise ValueError("table is empty: pass {method: {metric: value}}, e.g. compare(ds, encoder).")
    methods = list(table) if methods is None else list(methods)
    ax = grouped_bar_compare({"": table}, metric, methods=methods, **options)
    width = 0.8 / len(methods)
    labels = [textwrap.fill(method_label(m), 16) for m in methods]  # long names on two lines
    ax.set_xticks([(i - (len(methods) - 1) / 2) * width for i in range(len(methods))], labels)
    ax.get_legend().remove()
    return ax


# -------------------------------------------------------------------------- heat map


def similarity_heatmap(
    sim,
    query_tokens: Sequence[str],
    doc_tokens: Sequence[str],
    highlight_max: bool = True,
    *,
    title: str = "Query token x document token similarity",
    annotate: bool | None = None,
    cmap: str = "viridis",
    ax: Axes | None = None,
) -> Axes:
    """Heat map of a ``(Lq, Ld)`` similarity matrix, one row per query token.

    Args:
        sim: ``(Lq, Ld)`` tensor or array, e.g. ``q @ d.T`` (cosines for normalised vectors).
        query_tokens, doc_tokens: row and column labels (``Lq`` and ``Ld`` strings).
        highlight_max: outline each row's largest cell: the document token MaxSim
            picks for that query token. The outlines are the Axes' ``patches``.
        annotate: write the value in each cell (default: when the matrix has at most
            12 columns and 12 rows, so it stays legible).

    Returns:
        The ``Axes``; a colour bar labelled "similarity" sits beside it.
    """
    values = _as_matrix(sim)
    lq, ld = values.shape
    if len(query_tokens) != lq or len(doc_tokens) != ld:
        raise ValueError(
            f"sim has shape ({lq}, {ld}) but got {len(query_tokens)} query tokens and {len(doc_tokens)} "
            "document tokens; pass the token strings aligned with the rows and columns."
        )
    ax = _new_axes(ax, figsize=(max(6.0, 0.45 * ld + 2.5), max(3.0, 0.45 * lq + 1.5)))
    image = ax.imshow(values, cmap=cmap, aspect="auto")
    ax.figure.colorbar(image, ax=ax, label="similarity", fraction=0.04, pad=0.02)
    ax.set_xticks(range(ld), doc_tokens, rotation=90)
    ax.set_yticks(range(lq), query_tokens)
    ax.set_xlabel("document token")
    ax.set_ylabel("query token")
    ax.set_title(title)
    ax.grid(False)
    if annotate is None:
        annotate = lq <= 12 and ld <= 12
    if annotate:
        mid = (np.nanmax(values) + np.nanmin(values)) / 2
        for i in range(lq):
            for j in range(ld):
                ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=10,
                        color="black" if values[i, j] > mid else "white")
    if highlight_max:
        for i, j in enumerate(values.argmax(axis=1)):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=HIGHLIGHT, linewidth=3))
    return ax


def _as_matrix(sim) -> np.ndarray:
    values = sim.detach().cpu().float().numpy() if hasattr(sim, "detach") else np.asarray(sim, dtype=float)
    if values.ndim != 2 or 0 in values.shape:
        raise ValueError(f"sim must be a non-empty 2-D (query tokens, document tokens) matrix, got shape {values.shape}.")
    return values


def contribution_bars(
    matches: Sequence,
    *,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Horizontal bars: each query token's best similarity, labelled "query token -> doc token".

    Args:
        matches: the rows of :func:`lateint.similarity.explain` (anything with
            ``query_token``, ``doc_token`` and ``similarity``), one bar each, top to bottom.

    Returns:
        The ``Axes``; the title states the total, which is the MaxSim score.
    """
    if not matches:
        raise ValueError("matches is empty: pass the rows of lateint.explain(q, d, ...).")
    ax = _new_axes(ax, figsize=(8.0, max(3.0, 0.4 * len(matches) + 1.5)))
    sims = [m.similarity for m in matches]
    labels = [f"{m.query_token or m.query_position} -> {m.doc_token or m.doc_position}" for m in matches]
    y = np.arange(len(matches))
    bars = ax.barh(y, sims, color=method_color("maxsim"))
    ax.bar_label(bars, labels=[f"{s:.2f}" for s in sims], padding=3, fontsize=11)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()  # first query token on top
    ax.set_xlabel("best similarity (cosine)")
    ax.set_title(title or f"MaxSim = sum of the bars = {sum(sims):.2f}")
    ax.grid(axis="y", visible=False)
    return ax


# ----------------------------------------------------------------------------- lines


def line_compare(
    x: Sequence[float],
    series: Mapping[str, Sequence[float]],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    linestyle: str = "-",
    marker: str = "o",
    label_suffix: str = "",
    invert_y: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """One line per method over a shared x axis, in the methods' colours.

    Args:
        x: x values (``n``).
        series: ``{method: y values (n)}``; NaN values leave a gap.
        label_suffix: added to each legend label, e.g. ``" (no needle)"``.
        invert_y: put small values on top (for ranks, where 1 is best).

    Returns:
        The ``Axes``, with one ``Line2D`` per method.
    """
    ax = _new_axes(ax)
    for i, (method, y) in enumerate(series.items()):
        if len(y) != len(x):
            raise ValueError(f"series {method!r} has {len(y)} values but x has {len(x)}.")
        ax.plot(x, y, linestyle=linestyle, marker=marker, color=method_color(method, i),
                label=method_label(method) + label_suffix)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if invert_y and not ax.yaxis_inverted():
        ax.invert_yaxis()
    ax.legend()
    return ax


def needle_curve(
    tokens: Sequence[float],
    scores: Mapping[str, Sequence[float]],
    *,
    baseline: Mapping[str, Sequence[float]] | None = None,
    ranks: Mapping[str, Sequence[float]] | None = None,
    n_candidates: int | None = None,
    score_label: str = "score (cosine; MaxSim / query tokens)",
) -> Figure:
    """The needle-in-a-haystack picture: score (and rank) against document length.

    Args:
        tokens: document length in tokens at each point (``n``).
        scores: ``{method: score of the needle document (n)}``.
        baseline: ``{method: score of the same-length haystack without the needle (n)}``,
            drawn dashed in the same colour.
        ranks: ``{method: rank of the needle document among the candidates (n)}``;
            when given, a second panel shows it, rank 1 on top.
        n_candidates: how many documents were ranked (for the rank panel's label).

    Returns:
        The ``Figure``: one ``Axes`` (scores), or two (scores, ranks).
    """
    n_panels = 2 if ranks is not None else 1
    fig, axes = plt.subplots(1, n_panels, figsize=(8.0 * n_panels, 5.0), squeeze=False)
    ax = axes[0, 0]
    line_compare(tokens, scores, xlabel="document length (tokens)", ylabel=score_label,
                 title="The needle's score as the haystack grows", ax=ax)
    if baseline is not None:
        line_compare(tokens, baseline, xlabel="document length (tokens)", ylabel=score_label,
                     title="The needle's score as the haystack grows", linestyle="--", marker="",
                     label_suffix=", no needle", ax=ax)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)  # below: the lines fill the panel
    if ranks is not None:
        where = f"among {n_candidates} documents" if n_candidates else "among the candidates"
        rank_ax = line_compare(tokens, ranks, xlabel="document length (tokens)", ylabel=f"rank {where} (1 = top)",
                               title="The needle document's rank", invert_y=True, ax=axes[0, 1])
        rank_ax.set_ylim(bottom=max(max(r) for r in ranks.values()) + 0.5, top=0.5)
    return fig



# ----------------------------------------------------------------------------- point labels


def label_points(
    ax: Axes,
    x: Sequence[float],
    y: Sequence[float],
    labels: Sequence[str],
    *,
    fontsize: float = 10,
    same_place_px: float = 8.0,
) -> list[Annotation]:
    """Label scattered points so that no label overlaps another label or a point.

    Points closer than ``same_place_px`` pixels on screen (drawn on top of each other) share one
    label, their names joined with " / ". A label goes right of its point, else left of it, else
    the nearest place above or below where it is clear and inside the axes; a white backing keeps
    reference lines from striking through it. Call it after the axes' scales and limits are final:
    it measures the labels as they will be drawn.

    Args:
        x, y: the points' data coordinates (``n`` each).
        labels: one name per point (``n``).

    Returns:
        The ``Annotation`` s drawn, one per group of points, from the lowest point up.
    """
    if not len(x) == len(y) == len(labels):
        raise ValueError(f"got {len(x)} x, {len(y)} y and {len(labels)} labels; give one of each per point")
    fig = ax.figure
    fig.canvas.draw()  # applies the layout, so that data -> pixel positions are the final ones
    renderer = fig.canvas.get_renderer()
    at = ax.transData.transform(np.column_stack([np.asarray(x, float), np.asarray(y, float)]))
    groups: list[list[int]] = []  # indices of points drawn at (nearly) the same place
    for i in sorted(range(len(labels)), key=lambda i: (at[i][1], at[i][0])):
        for group in groups:
            if np.hypot(*(at[group[0]] - at[i])) < same_place_px:
                group.append(i)
                break
        else:
            groups.append([i])
    frame = ax.get_window_extent(renderer)
    to_points = 72.0 / fig.dpi
    r = 6.0  # a marker's half-width in pixels: points are obstacles too
    taken = [Bbox.from_extents(px - r, py - r, px + r, py + r) for px, py in at]
    step = fontsize / to_points * 0.6  # a move up or down: a bit over half a line
    drawn: list[Annotation] = []
    for group in groups:
        text = " / ".join(labels[i] for i in group)
        backing = {"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8}
        ann = ax.annotate(text, (x[group[0]], y[group[0]]), textcoords="offset points", xytext=(8, 0), va="center",
                          fontsize=fontsize, bbox=backing)
        fallback = None  # the nearest place inside the axes, if no place is clear
        for k in range(80):  # right, left, then further up and down, nearest first
            dy = (k // 4 + (k % 4 > 1)) * step * (1 if k % 4 < 2 else -1) if k >= 2 else 0.0
            place = (("left", "right")[k % 2], ((8, -8)[k % 2], dy * to_points))
            ann.set_horizontalalignment(place[0])
            ann.xyann = place[1]
            box = ann.get_window_extent(renderer)
            if frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1:
                fallback = fallback or place
                if not any(b.overlaps(box) for b in taken):
                    break
        else:
            ann.set_horizontalalignment((fallback or ("left", (8, 0)))[0])
            ann.xyann = (fallback or ("left", (8, 0)))[1]
        taken.append(ann.get_window_extent(renderer))
        drawn.append(ann)
    return drawn


# Lines that may lie on top of each other (equal counts in lesson 06's sweeps): each method its
# own line style and marker, the one drawn first thick and the later ones thinner on top of it,
# so that where two coincide both stay visible. (linestyle, marker, linewidth, markersize)
LINE_STYLES: dict[str, tuple[str, str, float, float]] = {
    "pooled": ("-", "o", 2.5, 8),
    "maxsim": ("-", "s", 5.0, 11),
    "bm25": ("--", "^", 2.0, 7),
}
_OTHER_LINE_STYLES = [(":", "D", 2.0, 7), ("-.", "v", 2.0, 7), ("-", "P", 2.0, 7)]


def line_panels(
    x: Sequence[float],
    panels: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    xlabel: str,
    ylabel: str,
    reference: tuple[float, str] | None = None,
    ylim: tuple[float, float] | None = None,
    panel_size: tuple[float, float] = (7.5, 4.5),
) -> Figure:
    """One :func:`line_compare` panel per entry of ``panels``, side by side, one legend for all.

    Args:
        x: x values (``n``), shared by every panel.
        panels: ``{panel title: {method: y values (n)}}``.
        reference: ``(y, label)`` of a dotted horizontal line drawn in every panel (e.g. chance).
        ylim: y-axis range of every panel.

    Each method keeps its colour and takes its own line style and marker (:data:`LINE_STYLES`);
    MaxSim is drawn thick underneath and BM25 dashed on top, so equal values show as a dashed
    line inside a thick one instead of one line hiding the other. The legend is the figure's,
    below the panels, with each method (and the reference line) once.

    Returns:
        The ``Figure``: one ``Axes`` per panel, each with one ``Line2D`` per method (then the
        reference line), and no legend of its own.
    """
    if not panels:
        raise ValueError("panels is empty: pass {panel title: {method: y values}}.")
    fig, axes = plt.subplots(1, len(panels), figsize=(panel_size[0] * len(panels), panel_size[1]), squeeze=False)
    for ax, (title, series) in zip(axes[0], panels.items()):
        for i, (method, y) in enumerate(series.items()):
            linestyle, marker, width, size = LINE_STYLES.get(method, _OTHER_LINE_STYLES[i % len(_OTHER_LINE_STYLES)])
            line_compare(x, {method: y}, xlabel=xlabel, ylabel=ylabel, title=title, linestyle=linestyle,
                         marker=marker, ax=ax)
            ax.lines[-1].set(linewidth=width, markersize=size, color=method_color(method, i), zorder=2 + i)
        if reference is not None:
            ax.axhline(reference[0], color="black", ls=":", lw=1.5, label=reference[1], zorder=1)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.get_legend().remove()
    entries: dict[str, object] = {}  # label -> handle, each label once, across all panels
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    fig.legend(list(entries.values()), list(entries), loc="lower center", ncol=len(entries), bbox_to_anchor=(0.5, 0.0))
    fig.set_layout_engine("tight", rect=(0, 0.12, 1, 1))  # room for the legend below the panels
    return fig
