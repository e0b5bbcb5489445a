"""What the lessons show: plots, tables, highlighted tokens and interactive widgets.

- :mod:`~lateint.display.plots`: projector-readable matplotlib charts several lessons share
  (one colour and label per method). A plot of one lesson helper's result lives beside that
  helper in :mod:`lateint.lessons` and draws with these colours and labels: one rule.
- :mod:`~lateint.display.diagrams`: explanatory diagrams drawn with matplotlib (one pooled vector
  against token vectors matched by MaxSim; the interaction spectrum).
- :mod:`~lateint.display.tables`: stable text tables (fixed digits, for nbval).
- :mod:`~lateint.display.highlight`: which document tokens a query's tokens matched, as HTML.
- :mod:`~lateint.display.widgets`: the ipywidgets query stepper of lesson 02.
- :mod:`~lateint.display.text_box`: its text box, an anywidget from which Ctrl+S still saves the notebook.
"""

from __future__ import annotations


def enable_colab_widgets() -> None:
    """On Google Colab, turn on its custom widget manager so ipywidgets (the query stepper) render.

    Does nothing elsewhere (JupyterLab, Binder, VS Code render them already).
    """
    try:
        from google.colab import output  # only importable on Colab
    except ImportError:
        return
    output.enable_custom_widget_manager()
