"""A one-line text box whose Ctrl+S (Cmd+S) still saves the notebook: the query stepper's "or type" box.

ipywidgets' ``Text`` keeps every key pressed in it to itself (its view stops each keydown from
bubbling), and JupyterLab 4 reads its shortcuts from keydowns that bubble up to the page: with the
cursor in the box, Ctrl+S did nothing. :class:`TextBox` is an `anywidget <https://anywidget.dev>`_
(a widget whose front end is a small ES module, ``text_box.js`` beside this file; it runs in
JupyterLab, Notebook 7, Colab and VS Code) that keeps plain typing in the box, so a letter never
reaches the notebook's command-mode shortcuts, and lets keys pressed with Ctrl, Cmd or Alt go on to
the application.

It behaves like ``ipywidgets.Text(continuous_update=False)``: ``value`` changes when Enter is
pressed or the box loses focus with a new text; Enter on the text ``value`` already holds calls the
:meth:`TextBox.on_submit` callbacks instead (the stepper starts that query again). ``layout`` and
``description`` work as on any ipywidgets control.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anywidget
import traitlets

__all__ = ["TextBox"]


class TextBox(anywidget.AnyWidget):
    """A text box with a label; see the module's docstring for what reaches Python and when."""

    _esm = Path(__file__).with_name("text_box.js")  # anywidget reads it (package data)
    value = traitlets.Unicode("").tag(sync=True)
    description = traitlets.Unicode("").tag(sync=True)

    def __init__(self, value: str = "", description: str = "", **kwargs) -> None:
        super().__init__(value=value, description=description, **kwargs)
        self._submit_callbacks: list[Callable[[TextBox], None]] = []
        self.on_msg(self._on_message)

    def on_submit(self, callback: Callable[[TextBox], None]) -> None:
        """Call ``callback(box)`` when Enter is pressed on the text ``value`` already holds."""
        self._submit_callbacks.append(callback)

    def submit(self) -> None:
        """What pressing Enter on the unchanged text does (for code and tests driving the box)."""
        for callback in self._submit_callbacks:
            callback(self)

    def _on_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("event") == "submit":
            self.submit()
