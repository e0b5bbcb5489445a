"""The picked token's colour, in one place: every view of "the document token MaxSim picked" uses it.

Okabe-Ito vermillion, distinguishable with the common colour-vision deficiencies. The heat map outlines the
picked cell in it (:mod:`lateint.display.heatmaps`), :func:`lateint.display.highlight.highlight` shades
matched tokens with it (opacity = match strength), and the query stepper writes the picked token in it; as
text it is darkened (light theme) or lightened (dark theme), same hue, to keep 4.5:1 contrast (WCAG AA).
"""

from __future__ import annotations

__all__ = ["PICKED", "PICKED_RGB", "PICKED_TEXT"]

PICKED = "#D55E00"
PICKED_RGB = "213, 94, 0"  # PICKED as an rgb triple, for rgba() backgrounds
PICKED_TEXT = {"light": "#A04000", "dark": "#FF8C42"}  # PICKED's hue as text on a light / dark background
