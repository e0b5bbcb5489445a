"""Bar and line charts that compare methods: bars per metric and dataset, lines against document length."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .style import LINE_STYLES, OTHER_LINE_STYLES, method_color, method_label, new_axes

__all__ = ["bar_compare", "grouped_bar_compare", "line_compare", "needle_curve", "line_panels"]


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
    ax = new_axes(ax)
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
    ax = new_axes(ax)
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
            linestyle, marker, width, size = LINE_STYLES.get(method, OTHER_LINE_STYLES[i % len(OTHER_LINE_STYLES)])
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
