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

The code lives in modules by job (``style``, ``charts``, ``heatmaps``, ``labels``); this module is the
one place to import from.

To print the same tables as text, use :func:`lateint.display.tables.format_table`.
"""

from .charts import bar_compare, grouped_bar_compare, line_compare, line_panels, needle_curve
from .heatmaps import contribution_bars, similarity_heatmap
from .labels import label_points
from .style import HIGHLIGHT, METHOD_COLORS, PROJECTOR_STYLE, method_color, method_label, metric_label, style

__all__ = [
    "PROJECTOR_STYLE",
    "METHOD_COLORS",
    "HIGHLIGHT",
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
