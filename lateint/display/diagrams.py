"""Diagrams drawn by the library (matplotlib, no image files), so they restyle with the plots.

- :func:`interaction_spectrum`: no interaction (one pooled vector per text, one dot product), late
  interaction (token vectors, MaxSim) and full interaction (a cross-encoder reading query and
  document together), side by side: where the query and the document meet.
- :func:`pooled_vs_maxsim`: the picture the course is built on, from real vectors: a query and a
  document each squeezed into one vector and one cosine, beside the same token vectors matched by
  MaxSim (each query token's best document token, the picks in the picked colour, then summed).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.transforms import offset_copy

from .colours import PICKED, PICKED_TEXT
from .plots import METHOD_COLORS

__all__ = ["PICTURE_TITLES", "SPECTRUM_TITLES", "interaction_spectrum", "pooled_vs_maxsim"]

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


# ---------------------------------------------------------------- one vector, or a bag of token vectors

PICTURE_TITLES = (
    "One vector per text\n(a mean each, one cosine)",
    "A vector per token\n(MaxSim: best matches, summed)",
)
MAX_DRAWN_TOKENS = 24  # one row per token: more rows than this no longer read on a slide


def _token_column(ax: Axes, x: float, labels: Sequence[str], ys: np.ndarray, side: str, picked=()) -> None:
    """Token labels at ``x`` (one per row ``ys``, a few points to the ``side`` of a dot where lines attach);
    ``picked`` rows in bold, in the picked token's text colour."""
    beside = offset_copy(ax.transData, fig=ax.figure, x=-6 if side == "left" else 6, units="points")
    for i, (label, y) in enumerate(zip(labels, ys)):
        chosen = i in picked
        ax.plot([x], [y], "o", color=PICKED if chosen else "black", markersize=5, zorder=3)
        ax.text(x, y, label, ha="right" if side == "left" else "left", va="center", transform=beside,
                fontweight="bold" if chosen else "normal", color=PICKED_TEXT["light"] if chosen else "black")


def _rows(n: int) -> np.ndarray:
    """``n`` row heights, top to bottom, spread over 0..1 (one row: the middle)."""
    return np.linspace(1.0, 0.0, n) if n > 1 else np.array([0.5])


def pooled_vs_maxsim(
    sim,
    pooled: float,
    query_tokens: Sequence[str],
    doc_tokens: Sequence[str],
    figsize: tuple[float, float] = (14.0, 6.5),
) -> Figure:
    """One pooled vector per text against a bag of token vectors matched by MaxSim, for one query and document.

    Left: every query token's vector and every document token's vector flow into one mean per text (grey
    lines), and the two means meet in one cosine, ``pooled``. Right: each query token is joined to the one
    document token it matches best (the row's maximum of ``sim``; the line, the picked token's label and the
    cosine written beside the query token are in the picked colour). MaxSim adds those maxima up; the
    bottom line gives the sum, and the mean per query token, which sits on the pooled cosine's scale.

    Drawn from real vectors, not schematically: a short query and a one-sentence document keep every token
    on a row of its own, readable on a slide, and the numbers are the model's own, so the picture is the
    lessons' computation and not an illustration of it. A longer document would make too many rows to read
    (more than :data:`MAX_DRAWN_TOKENS` is refused); lesson 01's needle experiment and lesson 02's heat map
    show longer texts.

    Args:
        sim: ``(Lq, Ld)`` tensor or array of cosines between each query token vector and each document token
            vector (``q_tokens @ d_tokens.T`` for unit vectors), unitless, in [-1, 1].
        pooled: the cosine of the query's and the document's pooled (mean, then normalised) vectors, in [-1, 1].
        query_tokens, doc_tokens: the ``Lq`` and ``Ld`` token strings, aligned with ``sim``'s rows and columns.
        figsize: in inches.

    Returns:
        The matplotlib Figure, with two Axes titled :data:`PICTURE_TITLES`. In the right one, the picked
        matches are the Line2D objects drawn in :data:`~lateint.display.colours.PICKED`, one per query token,
        from its label's row to the row of its best document token.
    """
    values = sim.detach().cpu().float().numpy() if hasattr(sim, "detach") else np.asarray(sim, dtype=float)
    if values.ndim != 2 or 0 in values.shape:
        raise ValueError(f"sim must be a non-empty (query tokens, document tokens) matrix, got shape {values.shape}.")
    lq, ld = values.shape
    if len(query_tokens) != lq or len(doc_tokens) != ld:
        raise ValueError(f"sim has shape ({lq}, {ld}) but got {len(query_tokens)} query tokens and {len(doc_tokens)} "
                         "document tokens; pass the token strings aligned with its rows and columns.")
    if max(lq, ld) > MAX_DRAWN_TOKENS:
        raise ValueError(f"{lq} query and {ld} document tokens: at most {MAX_DRAWN_TOKENS} each can be drawn "
                         "readably, one row per token. Pass a shorter text, or draw the matrix with "
                         "lateint.display.plots.similarity_heatmap.")
    if not (np.isfinite(values).all() and np.isfinite(pooled)):
        raise ValueError("sim and pooled must be finite numbers (cosines); got NaN or infinity.")
    if np.abs(values).max() > 1 + 1e-4 or abs(pooled) > 1 + 1e-4:
        raise ValueError("sim and pooled must be cosines, between -1 and 1: normalise the vectors before the dot "
                         "products (the course's token and pooled vectors are unit vectors).")
    best = values.argmax(axis=1)  # (Lq,): each query token's picked document token (the first, on a tie)
    maxima = values[np.arange(lq), best]
    qy, dy = _rows(lq) * 0.84 + 0.08, _rows(ld)  # the query's rows centred beside the document's

    fig, (left, right) = plt.subplots(1, 2, figsize=figsize)
    for ax, title in zip((left, right), PICTURE_TITLES):
        ax.set_xlim(-0.45, 1.45)
        ax.set_ylim(-0.2, 1.12)
        ax.axis("off")
        ax.set_title(title)
        ax.text(-0.03, 1.08, "query", ha="right", va="center", color="dimgray", fontstyle="italic")
        ax.text(1.03, 1.08, "document", ha="left", va="center", color="dimgray", fontstyle="italic")

    pooled_color, maxsim_color = METHOD_COLORS["pooled"], METHOD_COLORS["maxsim"]
    means = {0.0: (0.33, qy), 1.0: (0.67, dy)}  # column x: (x of its mean vector, rows)
    for x, (mx, ys) in means.items():
        for y in ys:
            left.plot([x, mx], [y, 0.5], color="lightgray", linewidth=1, zorder=1)
        left.plot([mx], [0.5], "o", color=pooled_color, markersize=14, markeredgecolor="black", zorder=3)
        left.text(mx, 0.44, "mean", ha="center", va="top", color="dimgray")
    left.plot([0.33, 0.67], [0.5, 0.5], color=pooled_color, linewidth=4, zorder=2)
    left.text(0.5, 0.55, "cosine", ha="center", va="bottom", color=pooled_color)
    _token_column(left, 0.0, query_tokens, qy, "left")
    _token_column(left, 1.0, doc_tokens, dy, "right")
    left.text(0.5, -0.1, f"score: one cosine = {pooled:.2f}", ha="center", va="center", color=pooled_color,
              fontweight="bold")

    for i, j in enumerate(best):  # the query token, its best cosine, then the line to the token it picked
        right.text(0.0, qy[i], f"{maxima[i]:.2f}", ha="left", va="center", color=PICKED_TEXT["light"],
                   transform=offset_copy(right.transData, fig=fig, x=6, units="points"))
        right.plot([0.3, 1.0], [qy[i], dy[j]], color=PICKED, linewidth=1 + 2.5 * max(float(maxima[i]), 0.0),
                   zorder=2)  # thicker for a closer match
    _token_column(right, 0.0, query_tokens, qy, "left")
    _token_column(right, 1.0, doc_tokens, dy, "right", picked=set(best.tolist()))
    right.text(0.5, -0.1, f"MaxSim: sum of {lq} maxima = {maxima.sum():.2f}\n({maxima.mean():.2f} per query token)",
               ha="center", va="center", color=maxsim_color, fontweight="bold")
    fig.tight_layout()
    return fig
