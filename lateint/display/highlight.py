"""See what MaxSim matched: documents rendered as HTML, each token coloured by its match.

:func:`lateint.similarity.explain` says, for every query token, which document token was
its best match and how similar the two are. Turned around, that gives every
*document* token a strength: the highest similarity with which some query token
picked it (a token no query token picked gets none). :func:`highlight` colours the
tokens by that strength, so a glance shows which words a score came from::

    highlight(encoder, "who keeps the spare lens?", [doc_a, doc_b])   # in a notebook cell

Colours are binned in steps of 0.1, so small float differences between machines do
not change the HTML. Word pieces ("light", "##house") are joined back into words
for reading; each piece keeps its own colour.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from ..similarity import Match, explain
from .colours import PICKED_RGB

__all__ = ["Html", "explain_texts", "token_strengths", "token_spans", "render_tokens", "highlight", "alignment_table"]

# Background colour of a matched token: the picked token's colour, with opacity = binned strength.
_RGB = PICKED_RGB


class Html(str):
    """A string of HTML that Jupyter displays rendered (``_repr_html_``)."""

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<Html: {len(self)} characters; display it in a notebook to see it rendered>"


def explain_texts(encoder, query: str, doc: str) -> list[Match]:
    """:func:`lateint.similarity.explain` for one query and one document given as text:
    encodes both with ``encoder`` and returns one :class:`Match` per query token, with token strings."""
    for name, text in (("query", query), ("doc", doc)):
        if not isinstance(text, str):
            raise TypeError(f"{name} must be one string, got {type(text).__name__}")
    q = encoder.encode_queries([query], show_progress=False)[0]
    d = encoder.encode_documents([doc], show_progress=False)[0]
    return explain(q, d, encoder.query_tokens([query])[0], encoder.document_tokens([doc])[0])


def token_strengths(matches: Sequence[Match], n_doc_tokens: int) -> list[float | None]:
    """For each of the ``n_doc_tokens`` document tokens, the best similarity with which
    a query token chose it as its MaxSim match, or ``None`` if no query token did.

    Args:
        matches: rows from :func:`lateint.similarity.explain` for one query and one document.
        n_doc_tokens: the document's number of token vectors ``Ld``.

    Returns:
        A list of length ``Ld``.
    """
    out: list[float | None] = [None] * n_doc_tokens
    for m in matches:
        if not 0 <= m.doc_position < n_doc_tokens:
            raise ValueError(
                f"a match points at document token {m.doc_position} but the document has {n_doc_tokens} tokens; "
                "pass the matches of this very document"
            )
        if out[m.doc_position] is None or m.similarity > out[m.doc_position]:
            out[m.doc_position] = m.similarity
    return out


def _bin(strength: float) -> float:
    """Opacity in [0.1, 1] in steps of 0.1 (a match never renders invisible)."""
    return max(1, min(10, round(strength * 10))) / 10


def split_piece(token: str) -> tuple[str, bool]:
    """(display text, starts a new word) for WordPiece (##), GPT-2 BPE (Ġ) and SentencePiece (▁) tokens."""
    if token.startswith("##"):
        return token[2:], False
    if token.startswith(("Ġ", "▁")):
        return token[1:], True
    return token, True


def render_tokens(
    tokens: Sequence[str], strengths: Sequence[float | None], tooltips: Sequence[str | None] | None = None
) -> str:
    """HTML of a token sequence: a ``<span>`` per token, matched ones with a coloured background.

    Args:
        tokens: token strings (e.g. from ``Encoder.document_tokens``).
        strengths: one value per token (``None`` = not matched); similarities, so at most 1.
        tooltips: optional hover text per token.
    """
    if len(tokens) != len(strengths):
        raise ValueError(f"{len(tokens)} tokens but {len(strengths)} strengths; they must align")
    if tooltips is not None and len(tooltips) != len(tokens):
        raise ValueError(f"{len(tokens)} tokens but {len(tooltips)} tooltips; they must align")

    def attributes(i: int) -> str:
        s = strengths[i]
        style = "" if s is None else f' style="background: rgba({_RGB}, {_bin(s):.1f})"'
        tip = tooltips[i] if tooltips is not None else None
        return style + (f' title="{html.escape(tip)}"' if tip else "")

    return token_spans(tokens, attributes)


def token_spans(tokens: Sequence[str], attributes: Callable[[int], str]) -> str:
    """HTML of a token sequence, a ``<span>`` per token: word pieces are drawn attached to
    the token before them, other tokens start after a space; the text is escaped.

    Args:
        tokens: token strings.
        attributes: ``attributes(i)`` gives what goes inside token ``i``'s opening tag,
            e.g. ``' style="background: yellow"'`` (with its leading space), or ``""``.
    """
    parts = []
    for i, token in enumerate(tokens):
        text, new_word = split_piece(token)
        parts.append(("" if not new_word or i == 0 else " ") + f"<span{attributes(i)}>{html.escape(text)}</span>")
    return "".join(parts)


def highlight(
    encoder,
    query: str,
    docs: Sequence[str],
    titles: Sequence[str] | None = None,
) -> Html:
    """Render ``docs`` side by side, each token coloured by how strongly ``query`` matched it.

    Each column shows a title (default: the document's rank), the MaxSim score and
    the document's tokens as the encoder keeps them (a ColBERT checkpoint drops
    punctuation, so the rendered text lacks it). Hovering a token shows which
    query tokens chose it. Above the columns, the query's own tokens are coloured by
    their best match in the first document.

    Args:
        encoder: a :class:`~lateint.encoders.Encoder`.
        query: one query string.
        docs: the documents to show, e.g. the top 3 of a search, in order.
        titles: a heading per document (default ``"#1"``, ``"#2"``...).

    Returns:
        :class:`Html`; the last expression of a notebook cell displays it.
    """
    if isinstance(docs, str):
        raise TypeError("docs must be a list of documents; wrap a single one in a list")
    docs = list(docs)
    if not docs:
        raise ValueError("docs is empty; pass the documents to show")
    titles = [f"#{i + 1}" for i in range(len(docs))] if titles is None else list(titles)
    if len(titles) != len(docs):
        raise ValueError(f"{len(titles)} titles for {len(docs)} documents; give one title per document")
    q_tokens = encoder.query_tokens([query])[0]
    q = encoder.encode_queries([query], show_progress=False)[0]  # once, for every document
    columns, first = [], None
    for title, doc, toks in zip(titles, docs, encoder.document_tokens(docs)):
        matches = explain(q, encoder.encode_documents([doc], show_progress=False)[0], q_tokens, toks)
        first = first or matches
        chosen_by: list[list[str]] = [[] for _ in toks]
        for m in matches:
            chosen_by[m.doc_position].append(f"{m.query_token} ({m.similarity:.2f})")
        tips = [("matched by " + ", ".join(c)) if c else None for c in chosen_by]
        body = render_tokens(toks, token_strengths(matches, len(toks)), tips)
        score = sum(m.similarity for m in matches)
        columns.append(
            '<div style="flex: 1; min-width: 14em; border: 1px solid #ccc; padding: 0.5em; line-height: 1.6">'
            f"<b>{html.escape(str(title))}</b> &middot; MaxSim {score:.2f}<br>{body}</div>"
        )
    q_tips = [f"best match: {m.doc_token} ({m.similarity:.2f})" for m in first]
    q_line = render_tokens(q_tokens, [m.similarity for m in first], q_tips)
    legend = (
        '<div style="font-size: 0.85em; color: #555">colour = similarity of the best query-token match '
        "(darker = closer to 1); uncoloured tokens were no query token's best match</div>"
    )
    return Html(
        f'<div><div style="margin-bottom: 0.5em"><b>query</b>: {q_line}</div>{legend}'
        f'<div style="display: flex; gap: 0.5em; align-items: flex-start">{"".join(columns)}</div></div>'
    )


def alignment_table(matches: Sequence[Match], skip: Sequence[str] = ()) -> str:
    """A plain-text table of :func:`~lateint.similarity.explain` rows: each query token, its
    best document token and their similarity, then the MaxSim total.

    Args:
        matches: explain rows of one query-document pair.
        skip: query tokens whose rows are summed into one line instead of listed
            (e.g. ``["[MASK]"]`` for a ColBERT query's 20-odd expansion tokens).
    """
    if not matches:
        raise ValueError("no matches to show; pass the output of explain(q, d, q_tokens, d_tokens)")
    lines = [f"{'query token':>14}  ->  {'best document token':<20} {'similarity':>10}"]
    hidden = [m for m in matches if m.query_token in skip]
    for m in matches:
        if m.query_token in skip:
            continue
        q = str(m.query_token if m.query_token is not None else m.query_position)
        d = str(m.doc_token if m.doc_token is not None else m.doc_position)
        lines.append(f"{q:>14}  ->  {d:<20} {m.similarity:>10.3f}")
    if hidden:
        label = f"{len(hidden)} x " + "/".join(dict.fromkeys(str(m.query_token) for m in hidden))
        lines.append(f"{label:>14}  ->  {'(summed)':<20} {sum(m.similarity for m in hidden):>10.3f}")
    lines.append(f"{'MaxSim total':>14}      {'':<20} {sum(m.similarity for m in matches):>10.3f}")
    return "\n".join(lines)
