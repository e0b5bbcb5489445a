"""The course's plotting style: projector-size rcParams, one colour and one name per method, new axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from .colours import PICKED

__all__ = ["PROJECTOR_STYLE", "METHOD_COLORS", "OTHER_COLORS", "HIGHLIGHT", "style", "method_color", "method_label",
           "metric_label", "new_axes", "LINE_STYLES", "OTHER_LINE_STYLES"]

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
OTHER_COLORS = ["#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000"]
_LABELS = {"pooled": "pooled (1 vector)", "maxsim": "MaxSim (token vectors)", "bm25": "BM25"}
HIGHLIGHT = PICKED  # outlines the cell MaxSim picked (the picked token's one colour, lateint.display.colours)


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
    return METHOD_COLORS.get(method, OTHER_COLORS[index % len(OTHER_COLORS)])


def new_axes(ax: Axes | None, figsize: tuple[float, float] | None = None) -> Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize)
    return ax


# Lines that may lie on top of each other (equal counts in lesson 06's sweeps): each method its
# own line style and marker, the one drawn first thick and the later ones thinner on top of it,
# so that where two coincide both stay visible. (linestyle, marker, linewidth, markersize)
LINE_STYLES: dict[str, tuple[str, str, float, float]] = {
    "pooled": ("-", "o", 2.5, 8),
    "maxsim": ("-", "s", 5.0, 11),
    "bm25": ("--", "^", 2.0, 7),
}
OTHER_LINE_STYLES = [(":", "D", 2.0, 7), ("-.", "v", 2.0, 7), ("-", "P", 2.0, 7)]
