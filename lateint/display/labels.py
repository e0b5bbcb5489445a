"""Labels for scattered points that never overlap (points drawn on top of each other share one label)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

__all__ = ["label_points"]


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
