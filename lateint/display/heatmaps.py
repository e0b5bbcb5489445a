"""MaxSim drawn: the query-token x document-token similarity heat map, and each query token's best match as bars."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from .style import HIGHLIGHT, method_color, new_axes

__all__ = ["similarity_heatmap", "contribution_bars"]


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
    ax = new_axes(ax, figsize=(max(6.0, 0.45 * ld + 2.5), max(3.0, 0.45 * lq + 1.5)))
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
    ax = new_axes(ax, figsize=(8.0, max(3.0, 0.4 * len(matches) + 1.5)))
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
