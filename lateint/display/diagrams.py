"""Diagrams drawn by the library (matplotlib, no image files), so they restyle with the plots.

- :func:`interaction_spectrum`: no interaction (one pooled vector per text, one dot product), late
  interaction (token vectors, MaxSim) and full interaction (a cross-encoder reading query and
  document together), side by side: where the query and the document meet.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from .plots import METHOD_COLORS

__all__ = ["SPECTRUM_TITLES", "interaction_spectrum"]

SPECTRUM_TITLES = (
    "No interaction\n(bi-encoder, one pooled vector)",
    "Late interaction\n(ColBERT, MaxSim)",
    "Full interaction\n(cross-encoder)",
)
_CROSS = "#009E73"
_QUERY, _DOC = "#56B4E9", "#F0E442"  # light blue query tokens, yellow document tokens


def _box(ax: Axes, x: float, y: float, w: float, h: float, text: str, color: str, alpha: float = 1.0,
         fontsize: float = 11) -> None:
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05,rounding_size=0.2", facecolor=color,
                                edgecolor="black", linewidth=1.2, alpha=alpha))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def _tokens(ax: Axes, x: float, y: float, n: int, color: str, size: float = 0.42, gap: float = 0.1) -> list[float]:
    """A row of ``n`` small squares (tokens or token vectors) from ``x``; returns their centres' x."""
    centres = []
    for i in range(n):
        left = x + i * (size + gap)
        ax.add_patch(Rectangle((left, y), size, size, facecolor=color, edgecolor="black", linewidth=1))
        centres.append(left + size / 2)
    return centres


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], color: str = "black") -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color=color, linewidth=1.5))


def _two_towers(ax: Axes, color: str, n_out: tuple[int, int]) -> tuple[list[float], list[float]]:
    """Query tower (left) and document tower (right, encoded offline) with their inputs; returns the
    x centres of the query's and the document's output vectors (drawn at y = 6.2)."""
    outs = []
    for x0, n_in, tint, name, n in ((0.4, 3, _QUERY, "query", n_out[0]), (5.2, 5, _DOC, "document", n_out[1])):
        _tokens(ax, x0, 0.9, n_in, tint)
        ax.text(x0, 0.3, name, fontsize=11, ha="left")
        _arrow(ax, (x0 + 1.2, 1.45), (x0 + 1.2, 2.3))
        _box(ax, x0, 2.4, 4.2 if name == "document" else 3.4, 2.6, "encoder" + ("\n(offline)" if name == "document" else ""),
             color, alpha=0.35)
        _arrow(ax, (x0 + 1.2, 5.15), (x0 + 1.2, 6.05))
        outs.append(_tokens(ax, x0, 6.2, n, tint))
    return outs[0], outs[1]


def _no_interaction(ax: Axes) -> None:
    color = METHOD_COLORS["pooled"]
    (q,), (d,) = _two_towers(ax, color, (1, 1))
    top = (q + d) / 2
    _arrow(ax, (q, 6.7), (top - 0.4, 8.1))
    _arrow(ax, (d, 6.7), (top + 0.4, 8.1))
    _box(ax, top - 1.6, 8.2, 3.2, 0.9, "one dot product", color)
    for x in (q, d):
        ax.text(x + 0.35, 6.4, "pooled", ha="left", va="center", fontsize=10)


def _late_interaction(ax: Axes) -> None:
    color = METHOD_COLORS["maxsim"]
    q, d = _two_towers(ax, color, (3, 5))
    for i, j in ((0, 1), (1, 4), (2, 2)):  # each query vector's best document vector
        ax.annotate("", (d[j], 6.66), (q[i], 6.66), arrowprops={"arrowstyle": "-", "color": color, "lw": 1.8,
                                                                  "connectionstyle": "arc3,rad=-0.35"})
    _arrow(ax, (5, 7.55), (5, 8.1))
    _box(ax, 2.0, 8.2, 6.0, 0.9, "MaxSim: token by token,\nsum of each best match", color, alpha=0.35, fontsize=10)


def _full_interaction(ax: Axes) -> None:
    _tokens(ax, 0.4, 0.9, 3, _QUERY)
    _tokens(ax, 2.3, 0.9, 1, "white")
    _tokens(ax, 3.0, 0.9, 5, _DOC)
    ax.text(0.4, 0.3, "[CLS] query [SEP] document", fontsize=11, ha="left")
    _arrow(ax, (5, 1.45), (5, 2.3))
    _box(ax, 0.4, 2.4, 9.2, 4.2, "one encoder:\njoint attention over\nthe concatenation,\nrun again for every document",
         _CROSS, alpha=0.35)
    _arrow(ax, (5, 6.75), (5, 8.1))
    _box(ax, 3.4, 8.2, 3.2, 0.9, "score", _CROSS)


def interaction_spectrum(figsize: tuple[float, float] = (15.0, 5.6)) -> Figure:
    """The spectrum from no interaction to full interaction: three panels, one per scoring.

    Each panel shows the query and document inputs (blue and yellow squares: tokens), the encoder
    passes, and where the two texts meet: one dot product of two pooled vectors, MaxSim over two
    sets of token vectors (documents still encoded offline), or joint attention inside one encoder
    over the concatenated pair (nothing about a document can be computed before the query comes).

    Returns:
        The matplotlib Figure, with three Axes whose titles are :data:`SPECTRUM_TITLES`.
    """
    fig, axes = plt.subplots(1, 3, figsize=figsize)
    for ax, title, draw in zip(axes, SPECTRUM_TITLES, (_no_interaction, _late_interaction, _full_interaction)):
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 9.4)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(title)
        draw(ax)
    return fig
