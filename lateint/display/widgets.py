"""The query stepper: watch MaxSim add up, one query token at a time.

Two layers, so the logic can be tested without a browser:

- :class:`StepperState`, plain Python: set a query (picked or typed), a document and
  a step; it exposes the current query token, the document token MaxSim picked for
  it (and where), their similarity, the contributions so far and the running total,
  and the top-k rankings of pooled and MaxSim for the query. It is built on
  :func:`lateint.similarity.explain` and :class:`lateint.side_by_side.SideBySide`.
- :class:`QueryStepper`, a thin ipywidgets view of that state: a query dropdown and
  text box (:class:`~lateint.display.text_box.TextBox`, so Ctrl+S saves from it), a document dropdown, a slider with prev/next buttons, and two tabs: the
  step view (the document's tokens shaded by similarity to the current query
  token, the picked one marked; a bar per query token so far) and the ranking view
  (pooled vs MaxSim top-k).

In a notebook::

    from lateint.display.widgets import query_stepper
    query_stepper(encoder, demo_corpus())          # displays the widget

The HTML helpers (:func:`tokens_html`, :func:`contributions_html`,
:func:`rankings_html`) are plain functions of their inputs.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import ipywidgets as w
import torch

from ..side_by_side import EncodedQuery, SideBySide
from ..similarity import Match, explain
from .colours import PICKED_TEXT
from .highlight import split_piece, token_spans  # a <span> per token, word pieces joined as in lateint.display.highlight
from .plots import method_label
from .text_box import TextBox

__all__ = [
    "StepperState",
    "QueryStepper",
    "query_stepper",
    "tokens_html",
    "contributions_html",
    "piece_html",
    "rankings_html",
    "theme_css",
    "THEME_COLOURS",
]

_BLUE = "0, 114, 178"  # MaxSim's colour in lateint.display.plots, as an rgb triple

# Colours that follow JupyterLab's light or dark theme (JupyterLab marks a dark theme with
# data-jp-theme-light="false" on <body>). Every HTML piece reads them through var(name, light
# fallback), so it also renders where this style sheet is absent (Colab, a static export).
# Text colours keep at least 4.5:1 contrast with the theme's background (WCAG AA), see THEME_COLOURS.
THEME_COLOURS: dict[str, dict[str, str]] = {
    # name: {theme: colour}; "shade" is an rgb triple for rgba() backgrounds
    "accent": PICKED_TEXT,  # the picked token's text and outline (lateint.display.colours)
    "muted": {"light": "#595959", "dark": "#A8A8A8"},  # rows not yet counted
    "shade": {"light": _BLUE, "dark": "86, 180, 233"},  # doc-token shading and counted bars (blue / sky blue)
}
THEME_BACKGROUNDS = {"light": "#FFFFFF", "dark": "#111111"}  # JupyterLab's --jp-layout-color0


def _var(name: str) -> str:
    """``var(--lateint-NAME, light colour)``: a theme colour with the light one as fallback."""
    return f"var(--lateint-{name}, {THEME_COLOURS[name]['light']})"


def theme_css() -> str:
    """A ``<style>`` block defining the theme colours for the light and the dark JupyterLab theme."""
    def block(theme: str) -> str:
        return "; ".join(f"--lateint-{name}: {c[theme]}" for name, c in THEME_COLOURS.items())

    return (
        f"<style>.lateint-stepper {{ {block('light')} }} "
        f"body[data-jp-theme-light='false'] .lateint-stepper {{ {block('dark')} }}</style>"
    )


class StepperState:
    """Where the learner is: one query, one document, one query token.

    Args:
        index: the documents, indexed both ways.
        queries: ``{label: query text}`` offered in the dropdown (e.g. ``ds.queries``).
        qrels: ``{label: {doc id: grade}}`` to mark relevant documents in the rankings.
        k: how many documents each ranking shows.
        query: the first query (default: the first of ``queries``).

    Changing the query resets the step to 0 and selects MaxSim's top document.
    """

    def __init__(
        self,
        index: SideBySide,
        queries: Mapping[str, str] | None = None,
        qrels: Mapping[str, Mapping[str, int]] | None = None,
        k: int = 5,
        query: str | None = None,
    ) -> None:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}.")
        self.index = index
        self.queries = dict(queries or {})
        self._judged = {text: dict((qrels or {}).get(label, {})) for label, text in self.queries.items()}
        self.k = k
        first = query if query is not None else next(iter(self.queries.values()), None)
        if first is None:
            raise ValueError("Give a first query: query='...' or a non-empty queries={label: text}.")
        self.set_query(first)

    @classmethod
    def from_dataset(cls, encoder, ds, k: int = 5, cache: bool = True) -> StepperState:
        """A state over every document and query of a :class:`~lateint.data.BeirDataset`."""
        return cls(SideBySide.from_dataset(encoder, ds, cache), ds.queries, ds.qrels, k)

    # ------------------------------------------------------------------- setters

    def set_query(self, text: str) -> None:
        """Encode ``text``, rank the documents, pick MaxSim's top one, go to step 0."""
        self.query: EncodedQuery = self.index.encode_query(text)
        self.rankings = self.index.search(self.query, self.k)
        self.step = 0
        self.set_doc(self.rankings["maxsim"][0][0])

    def set_doc(self, doc_id: str) -> None:
        """Explain the current query against ``doc_id`` (the step is kept)."""
        d = self.index.doc_vectors(doc_id)  # raises a clear KeyError for an unknown id
        self.doc_id = doc_id
        self.document_tokens = self.index.document_tokens[self.index.position(doc_id)]
        self.matches: list[Match] = explain(self.query.vectors, d, self.query.tokens, self.document_tokens)
        self._sim = self.query.vectors @ d.T  # (Lq, Ld) cosines

    def set_step(self, step: int) -> None:
        """Go to query token ``step`` (0-based)."""
        if not isinstance(step, int) or not 0 <= step < self.n_steps:
            raise ValueError(f"step must be an int from 0 to {self.n_steps - 1} (the query has {self.n_steps} tokens), got {step!r}.")
        self.step = step

    def next(self) -> int:
        """One token forward (stays on the last); returns the new step."""
        self.step = min(self.step + 1, self.n_steps - 1)
        return self.step

    def prev(self) -> int:
        """One token back (stays on the first); returns the new step."""
        self.step = max(self.step - 1, 0)
        return self.step

    # ---------------------------------------------------------------- what it shows

    @property
    def n_steps(self) -> int:
        """Number of query tokens."""
        return len(self.query.tokens)

    @property
    def current(self) -> Match:
        """The current query token, the document token it picked, where, and their similarity."""
        return self.matches[self.step]

    @property
    def similarities(self) -> torch.Tensor:
        """``(Ld,)`` cosine of the current query token with every document token."""
        return self._sim[self.step]

    @property
    def contributions(self) -> list[float]:
        """Best similarity of each query token up to and including the current one."""
        return [m.similarity for m in self.matches[: self.step + 1]]

    @property
    def running_total(self) -> float:
        """Sum of :attr:`contributions`: MaxSim so far."""
        return sum(self.contributions)

    @property
    def total(self) -> float:
        """The full MaxSim score of the query against the document."""
        return sum(m.similarity for m in self.matches)

    @property
    def relevant(self) -> dict[str, int]:
        """``{doc id: grade}`` judged for the current query (empty for a typed one)."""
        return self._judged.get(self.query.text, {})


# --------------------------------------------------------------------- HTML pieces


def tokens_html(tokens: Sequence[str], similarities: Sequence[float] | None = None, picked: int | None = None) -> str:
    """A document's tokens as HTML, each shaded by its similarity; ``picked`` is outlined.

    Each token is a ``<span data-pos="j">``; the picked one also has ``class="picked"``.
    Word pieces (``##ing``) are drawn attached to the previous token with no gap, so a word
    reads as one word (as in :mod:`lateint.display.highlight`); each piece keeps its own shade.
    The picked token gets padding and an offset outline, so even a picked "." is visible.
    """
    if similarities is not None and len(similarities) != len(tokens):
        raise ValueError(f"{len(tokens)} tokens but {len(similarities)} similarities; they must align.")

    def attributes(j: int) -> str:
        shade = 0.0 if similarities is None else max(0.0, min(1.0, float(similarities[j])))
        style = f"background: rgba({_var('shade')}, {shade * 0.6:.2f});"
        cls = ""
        if j == picked:
            cls = ' class="picked"'
            style += (f" outline: 3px solid {_var('accent')}; outline-offset: 1px; font-weight: bold;"
                      " padding: 0 4px; display: inline-block; min-width: 0.8em; text-align: center;")
        title = "" if similarities is None else f' title="{float(similarities[j]):.3f}"'
        return f' data-pos="{j}"{cls}{title} style="{style}"'

    return '<div style="line-height: 2.1; font-size: 15px;">' + token_spans(tokens, attributes) + "</div>"


def piece_html(tokens: Sequence[str], j: int) -> str:
    """Token ``j`` shown as the document shows it: within its whole word, the piece underlined.

    ``piece_html(["the", "ce", "##ls", "##ius"], 3)`` is ``"cels<u>ius</u>"``; a token that is
    a whole word is just that word (escaped). Used for both sides of the bars, so a word piece
    reads the same way there as in :func:`tokens_html`.
    """
    if not 0 <= j < len(tokens):
        raise ValueError(f"token {j} asked for, but there are {len(tokens)} tokens.")
    start = j
    while start > 0 and not split_piece(tokens[start])[1]:
        start -= 1
    end = j + 1
    while end < len(tokens) and not split_piece(tokens[end])[1]:
        end += 1
    if end - start == 1:
        return html.escape(split_piece(tokens[j])[0])
    parts = [html.escape(split_piece(tokens[i])[0]) for i in range(start, end)]
    parts[j - start] = f"<u>{parts[j - start]}</u>"
    return "".join(parts)


def contributions_html(
    matches: Sequence[Match],
    step: int,
    query_tokens: Sequence[str] | None = None,
    document_tokens: Sequence[str] | None = None,
) -> str:
    """One bar per query token: its best similarity; tokens after ``step`` are not counted yet.

    Each row is a ``<tr data-step="i">``; rows up to ``step`` have ``class="done"`` and a
    filled bar, the others ``class="todo"``, muted text (still >= 4.5:1 contrast) and only a
    dashed outline of their bar, so what is counted stands out in light and dark themes.
    The last row states the running total (sum of the rows up to ``step``). Given the
    ``query_tokens`` and ``document_tokens``, word pieces are shown within their word
    (:func:`piece_html`), as the document shows them.
    """
    def label(tokens: Sequence[str] | None, position: int, token: object) -> str:
        return piece_html(tokens, position) if tokens is not None else html.escape(str(token))

    rows = []
    for m in matches:
        done = m.query_position <= step
        width = max(0.0, m.similarity) * 100
        if done:
            bar = f"background: rgb({_var('shade')});"
            row = ' class="done"'
        else:
            bar = f"border: 1px dashed {_var('muted')}; box-sizing: border-box;"
            row = f' class="todo" style="color: {_var("muted")};"'
        mark = " &#9664;" if m.query_position == step else ""
        rows.append(
            f'<tr data-step="{m.query_position}"{row}>'
            f"<td style='text-align:right'>{label(query_tokens, m.query_position, m.query_token)}</td>"
            f"<td>&rarr; {label(document_tokens, m.doc_position, m.doc_token)}</td>"
            f"<td style='width: 220px'><div style='{bar} width: {width:.0f}%; height: 12px;'></div></td>"
            f"<td>{m.similarity:.3f}{mark}</td></tr>"
        )
    total = sum(m.similarity for m in matches if m.query_position <= step)
    rows.append(f"<tr class='total'><td colspan='3' style='text-align:right'><b>MaxSim so far</b></td><td><b>{total:.3f}</b></td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def rankings_html(
    rankings: Mapping[str, Sequence[tuple[str, float]]],
    relevant: Mapping[str, int] | None = None,
    selected: str | None = None,
) -> str:
    """The methods' top-k side by side, one column each; relevant docs marked with a star.

    Each ranked cell is a ``<td data-method="m" data-rank="r" data-doc="id">``; the
    ``selected`` document is shown in bold.
    """

    relevant = relevant or {}
    methods = list(rankings)
    head = "<tr><th>rank</th>" + "".join(f"<th>{html.escape(method_label(m))}</th>" for m in methods) + "</tr>"
    rows = []
    for r in range(max((len(v) for v in rankings.values()), default=0)):
        cells = []
        for m in methods:
            if r >= len(rankings[m]):
                cells.append("<td></td>")
                continue
            did, score = rankings[m][r]
            star = " &#9733;" if relevant.get(did, 0) > 0 else ""
            name = f"<b>{html.escape(did)}</b>" if did == selected else html.escape(did)
            cells.append(f'<td data-method="{m}" data-rank="{r + 1}" data-doc="{html.escape(did)}">{name}{star} ({score:.3f})</td>')
        rows.append(f"<tr><td>{r + 1}</td>" + "".join(cells) + "</tr>")
    note = "<p>&#9733; = judged relevant. Pooled scores are cosines; MaxSim sums one cosine per query token.</p>"
    return "<table>" + head + "".join(rows) + "</table>" + note


# ---------------------------------------------------------------------- the view


class QueryStepper:
    """ipywidgets view of a :class:`StepperState`. Display it (or ``.box``) in a notebook.

    Its widgets are attributes, so code (and tests) can drive it like a learner:
    ``query_choice``, ``query_text``, ``doc_choice``, ``step``, ``prev_button``,
    ``next_button`` (``step`` counts query tokens from 1; ``state.step`` from 0); and read what it shows: ``doc_view``, ``match_view``,
    ``bars_view``, ``ranking_view`` (all ``HTML``), inside ``tabs``.

    A new query (picked, typed, or the shown one typed again and Enter pressed) starts at its
    first token; prev/next are disabled at the first/last token. An unusable typed query (empty)
    shows why in ``match_view``, sets ``error``, clears the other views and disables the controls
    until a usable one. Colours follow JupyterLab's light or dark theme (:func:`theme_css`).
    """

    def __init__(self, state: StepperState) -> None:

        self.state = state
        self._syncing = False
        options = [(f"{label}: {text}", text) for label, text in state.queries.items()]
        self.query_choice = w.Dropdown(options=options, value=state.query.text if options else None,
                                       description="Query", layout=w.Layout(width="95%"))
        # not ipywidgets' Text, which keeps Ctrl+S to itself (lateint.display.text_box says why)
        self.query_text = TextBox(value=state.query.text, description="or type", layout=w.Layout(width="95%"))
        self.doc_choice = w.Dropdown(options=state.index.doc_ids, value=state.doc_id, description="Document")
        # the slider counts query tokens from 1, as the text under it does ("6 of 8")
        self.step = w.IntSlider(value=state.step + 1, min=1, max=state.n_steps, description="Query token")
        self.prev_button = w.Button(description="prev", icon="arrow-left")
        self.next_button = w.Button(description="next", icon="arrow-right")
        self.match_view, self.doc_view, self.bars_view, self.ranking_view = (w.HTML() for _ in range(4))
        step_tab = w.VBox([w.HBox([self.prev_button, self.step, self.next_button]), self.match_view,
                           self.doc_view, self.bars_view])
        self.tabs = w.Tab(children=[step_tab, self.ranking_view],
                          titles=("MaxSim steps", f"Top {state.k} rankings"))
        self.box = w.VBox([w.HTML(theme_css()), self.query_choice, self.query_text, self.doc_choice, self.tabs])
        self.box.add_class("lateint-stepper")  # theme_css() colours apply inside it
        self.error: str | None = None  # the message shown while a typed query is unusable

        self.query_choice.observe(self._on_choice, names="value")
        self.query_text.observe(self._on_text, names="value")
        self.query_text.on_submit(self._on_submit)  # Enter on an unchanged query: start it again
        self.doc_choice.observe(self._on_doc, names="value")
        self.step.observe(self._on_step, names="value")
        self.prev_button.on_click(lambda _: self._move(self.state.prev))
        self.next_button.on_click(lambda _: self._move(self.state.next))
        self.render()

    def _repr_mimebundle_(self, **kwargs):
        """The live widget, plus a static view where no kernel draws it.

        JupyterLab with a kernel shows the widget; a reloaded notebook, a static viewer (GitHub,
        nbviewer, the course site) or a terminal shows ``text/html`` or ``text/plain``: what the
        stepper is, how to bring it to life, and the step it was at when it was displayed.
        """
        bundle = self.box._repr_mimebundle_(**kwargs) or {}
        return {**bundle, "text/plain": self.static_text(), "text/html": self.static_html()}

    HOW_TO_RUN = "to use it, run this cell with a live Python kernel (JupyterLab, Colab or Binder)"

    def static_text(self) -> str:
        """Plain text: what this is, how to run it, and the step it shows."""
        s = self.state
        if self.error:
            return f"Query stepper (an interactive widget; {self.HOW_TO_RUN}). {self.error}"
        m = s.current
        return (f"Query stepper (an interactive widget; {self.HOW_TO_RUN}).\n"
                f"Query {s.query.text!r} against document {s.doc_id!r}: query token {s.step + 1} of {s.n_steps}, "
                f"{s.query.tokens[m.query_position]!r} picks {s.document_tokens[m.doc_position]!r} "
                f"(similarity {m.similarity:.3f}); MaxSim {s.total:.3f}.")

    def static_html(self) -> str:
        """A static copy of the stepper's current step (no controls), under a line saying how to run it."""
        query = html.escape(self.state.query.text)
        return (f'<div class="lateint-stepper">{theme_css()}'
                f"<p><b>Query stepper</b>: an interactive widget that steps through MaxSim one query token at a time; "
                f"{self.HOW_TO_RUN}. A static copy of the step it showed:</p>"
                f"<p>Query <i>{query}</i>, document <b>{html.escape(str(self.state.doc_id))}</b></p>"
                f"{self.match_view.value}{self.doc_view.value}{self.bars_view.value}</div>")

    # ------------------------------------------------------------------ callbacks

    def _on_choice(self, change) -> None:
        if not self._syncing and change["new"]:
            self.query_text.value = change["new"]  # _on_text does the work

    def _on_text(self, change) -> None:
        if not self._syncing:
            self._set_query(change["new"])

    def _on_submit(self, _box) -> None:
        """Enter on the text the box already sent (a changed text went through :meth:`_on_text`):
        start the query again at token 1."""
        self._set_query(self.query_text.value)

    def _set_query(self, text: str) -> None:
        """Show ``text`` from its first token; for an unusable text, say why and clear the views."""
        try:
            self.state.set_query(text)
        except ValueError as e:
            self._show_error(str(e))
            return
        self.error = None
        self._sync_controls()
        self.render()

    def _show_error(self, message: str) -> None:
        """Clear what belonged to the previous query and disable the controls until a usable query."""
        self.error = message
        self._syncing = True
        try:
            self.query_choice.value = None
        finally:
            self._syncing = False
        self.match_view.value = f"<p style='color: {_var('accent')}'>{html.escape(message)}</p>"
        self.doc_view.value = self.bars_view.value = self.ranking_view.value = ""
        for control in (self.doc_choice, self.step, self.prev_button, self.next_button):
            control.disabled = True

    def _on_doc(self, change) -> None:
        if not self._syncing:
            self.state.set_doc(change["new"])
            self.render()

    def _on_step(self, change) -> None:
        if not self._syncing:
            self.state.set_step(change["new"] - 1)
            self.render()

    def _move(self, how) -> None:
        how()
        self.step.value = self.state.step + 1  # _on_step renders (nothing happens at either end)

    def _sync_controls(self) -> None:
        """Make the controls show the state (without their callbacks firing)."""
        self._syncing = True
        try:
            self.step.value = 1
            self.step.max = self.state.n_steps
            self.step.value = self.state.step + 1
            self.doc_choice.value = self.state.doc_id
            texts = [v for _, v in self.query_choice.options]
            self.query_choice.value = self.state.query.text if self.state.query.text in texts else None
        finally:
            self._syncing = False

    # ------------------------------------------------------------------ rendering

    def render(self) -> None:
        """Redraw every view from the state; prev/next are disabled at the first/last token."""
        s = self.state
        m = s.current
        self.match_view.value = (
            f"<p>Query token <b>{piece_html(s.query.tokens, m.query_position)}</b> ({s.step + 1} of {s.n_steps}) "
            f"picks document token <b style='color: {_var('accent')}'>{piece_html(s.document_tokens, m.doc_position)}</b> "
            f"at position {m.doc_position}, similarity <b>{m.similarity:.3f}</b>. "
            f"Running total {s.running_total:.3f} of {s.total:.3f}.</p>"
        )
        self.doc_view.value = tokens_html(s.document_tokens, s.similarities.tolist(), m.doc_position)
        self.bars_view.value = contributions_html(s.matches, s.step, s.query.tokens, s.document_tokens)
        self.doc_choice.disabled = self.step.disabled = False
        self.prev_button.disabled = s.step == 0
        self.next_button.disabled = s.step == s.n_steps - 1
        self.ranking_view.value = rankings_html(s.rankings, s.relevant, s.doc_id)


def query_stepper(encoder, ds, k: int = 5, cache: bool = True) -> QueryStepper:
    """A :class:`QueryStepper` over a dataset's documents and queries (e.g. :func:`lateint.lessons.demo.demo_corpus`)."""
    return QueryStepper(StepperState.from_dataset(encoder, ds, k, cache))
