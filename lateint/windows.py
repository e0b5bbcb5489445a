"""Encode documents longer than the model's window whole: overlapping windows, merged.

A transformer sees at most ``doc_length`` tokens at once (256 for all-MiniLM-L6-v2). Cutting
there (truncation) throws the rest of a long document away. Here a document's tokens are cut
into overlapping windows instead::

    tokens   0 ........................................ n
    window 0 [=========)
    window 1      [=========)
    window 2           [=========)          each ``window`` tokens, ``stride`` apart

each window is encoded on its own (with the model's [CLS] ... [SEP] around it), and every
token keeps ONE vector: the one from the window where it sits most centrally (farthest from
that window's edges), because there it saw the most context on both sides. Ties go to the
earlier window. So a document of ``n`` tokens gets exactly as many vectors as it would from a
model with an unlimited window, and a document that fits in one window gets exactly the vectors
of :meth:`Encoder.encode_documents` (the tests check both).

Windows of all documents are encoded ``batch_size`` at a time, so a 100,000-token document
needs memory for a batch of windows plus its own ``(n, dim)`` result, never a
100,000-token attention matrix.

"Cram" (:func:`encode_cram`) is the single-vector counterpart: one vector per document, the
mean of all its (merged) token vectors, i.e. mean pooling over the whole document instead of
over its first window.
"""

from __future__ import annotations

from typing import Sequence

import torch

from .encoders import check_texts

__all__ = ["window_spans", "window_owners", "encode_whole", "encode_cram", "default_window"]


def window_spans(n_tokens: int, window: int, stride: int) -> list[tuple[int, int]]:
    """Token spans ``[(start, end), ...]`` of overlapping windows that cover ``n_tokens`` tokens.

    Windows start every ``stride`` tokens; the last one is moved back so it ends at the last token
    (every window is full, the last overlaps its neighbour more). ``stride == window``: no overlap.
    """
    if not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be a positive number of tokens, got {window!r}.")
    if not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive number of tokens, got {stride!r}.")
    if stride > window:
        raise ValueError(
            f"stride ({stride}) is larger than the window ({window}): the {stride - window} tokens between "
            f"two windows would never be encoded. Use a stride of at most {window} (half of it is common)."
        )
    if n_tokens <= window:
        return [(0, n_tokens)]
    starts = list(range(0, n_tokens - window, stride)) + [n_tokens - window]
    return [(s, s + window) for s in starts]


def window_owners(spans: Sequence[tuple[int, int]], n_tokens: int) -> list[int]:
    """For each token, the window whose vector it keeps: where it is most central.

    Centrality of token ``j`` in window ``[s, e)`` is ``min(j - s, e - 1 - j)``, its distance to the
    nearer edge; the highest wins, ties go to the earlier window. Returns ``n_tokens`` window numbers.
    """
    best = [-1] * n_tokens
    owner = [-1] * n_tokens
    for w, (s, e) in enumerate(spans):
        for j in range(s, e):
            centrality = min(j - s, e - 1 - j)
            if centrality > best[j]:
                best[j], owner[j] = centrality, w
    if -1 in owner:
        raise ValueError(f"The windows {list(spans)} leave token {owner.index(-1)} of {n_tokens} uncovered.")
    return owner


def default_window(encoder) -> int:
    """Text tokens one window holds: the document length less the special and marker tokens."""
    marker = encoder._marker(False) is not None
    n_special = encoder.tokenizer.num_special_tokens_to_add(pair=False)
    return encoder.format.doc_length - n_special - marker


@torch.inference_mode()
def encode_whole(
    encoder,
    texts: Sequence[str],
    window: int | None = None,
    stride: int | None = None,
    *,
    batch_size: int | None = None,
    normalize: bool | None = None,
    show_progress: bool | None = None,
) -> list[torch.Tensor]:
    """Token vectors of each WHOLE document, however long: a list of ``(L_i, dim)`` float32 tensors.

    Like ``encoder.encode_documents`` (same tokens kept: [CLS]/[SEP] or the ColBERT marker, and a
    ColBERT checkpoint's punctuation skiplist), without the cut at ``doc_length``. The [CLS] vector
    comes from the first window, [SEP] from the last, every text token from its most central window
    (:func:`window_owners`).

    Args:
        encoder: an :class:`~lateint.encoders.Encoder`.
        texts: the documents.
        window: text tokens per window (default: as many as the model's document length holds,
            254 for all-MiniLM-L6-v2).
        stride: tokens between window starts, at most ``window`` (default: ``window // 2``).
        batch_size: windows per forward pass (default: the encoder's); bounds the memory.
        normalize: L2-normalise the vectors (default: the encoder's setting).
    """
    texts = check_texts(texts)
    room = default_window(encoder)
    window = room if window is None else window
    if isinstance(window, int) and window > room:
        raise ValueError(
            f"window ({window}) is larger than the {room} text tokens the model's {encoder.format.doc_length}-token "
            f"document length holds; use window <= {room} (or load the encoder with a larger document_length)."
        )
    stride = (window // 2 or 1) if stride is None else stride
    normalize = encoder.normalize if normalize is None else normalize
    bs = batch_size or encoder.batch_size
    if bs < 1:
        raise ValueError(f"batch_size must be at least 1, got {bs}.")
    split = encoder._split(texts)
    rows, plan = [], []  # one row per window; plan[d] = (head, body, tail, spans) of document d
    for d, (ids, special) in enumerate(zip(split["input_ids"], split["special_tokens_mask"])):
        head, body, tail = _strip_specials(ids, special, d)
        spans = window_spans(len(body), window, stride)
        plan.append((head, body, tail, spans))
        rows += [(d, w, head + body[s:e] + tail) for w, (s, e) in enumerate(spans)]
    # each document's merged vectors, every position (specials and marker included), filled window by window
    extra = encoder._marker(False) is not None
    merged = [torch.empty(len(h) + extra + len(b) + len(t), encoder.dim) for h, b, t, _ in plan]
    keeps = [torch.empty(len(m), dtype=torch.bool) for m in merged]
    owners = [window_owners(spans, len(body)) for _, body, _, spans in plan]
    order = sorted(range(len(rows)), key=lambda r: -len(rows[r][2]))  # similar lengths share a batch
    starts = range(0, len(rows), bs)
    if show_progress or (show_progress is None and len(rows) >= 1000):
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="encoding windows", unit="batch")
    for start in starts:
        batch = [rows[r] for r in order[start : start + bs]]
        ids = [r[2] for r in batch]
        enc = encoder._batch({"input_ids": ids, "special_tokens_mask": [[0] * len(i) for i in ids]}, False)
        hidden = encoder.token_states(enc["input_ids"], enc["attention_mask"])  # (b, L, dim)
        if normalize:
            hidden = torch.nn.functional.normalize(hidden, dim=-1)
        hidden = hidden.float().cpu()
        for (d, w, _), h, keep in zip(batch, hidden, enc["keep"]):
            _place(merged[d], keeps[d], h, keep, plan[d], owners[d], w, extra)
    return [m[k].clone() for m, k in zip(merged, keeps)]


def _place(out, out_keep, h, keep, plan, owner, w, extra) -> None:
    """Copy window ``w``'s vectors ``h`` ``(L, dim)`` into its document's merged rows ``out``: its own
    tokens (those it owns), plus the head ([CLS], marker) from window 0 and the tail ([SEP]) from the last."""
    head, body, tail, spans = plan
    s, e = spans[w]
    front = len(head) + extra  # rows before the first text token, in the window and in the document
    mine = [j for j in range(s, e) if owner[j] == w]
    if mine:
        src = torch.tensor(mine) - s + front
        dst = torch.tensor(mine) + front
        out[dst], out_keep[dst] = h[src], keep[src]
    if w == 0:
        out[:front], out_keep[:front] = h[:front], keep[:front]
    if w == len(spans) - 1:
        n_tail, at = len(tail), front + (e - s)
        out[len(out) - n_tail :], out_keep[len(out) - n_tail :] = h[at : at + n_tail], keep[at : at + n_tail]


def _strip_specials(ids: list[int], special: list[int], d: int) -> tuple[list[int], list[int], list[int]]:
    """Split one tokenized text into leading special tokens, text tokens and trailing special tokens."""
    first = next((i for i, s in enumerate(special) if not s), len(ids))
    last = len(ids) - next((i for i, s in enumerate(reversed(special)) if not s), len(ids))
    if any(special[first:last]):
        raise ValueError(f"Document {d}: the tokenizer put special tokens inside the text; windows cannot split it.")
    return ids[:first], ids[first:last], ids[last:]


def encode_cram(
    encoder,
    texts: Sequence[str],
    window: int | None = None,
    stride: int | None = None,
    **kw,
) -> torch.Tensor:
    """One L2-normalised vector per WHOLE document, ``(n, dim)``: the mean of all its token vectors
    (from :func:`encode_whole`, unnormalised, [CLS] and [SEP] included as mean pooling includes them).

    For a document that fits one window this is the model's own mean-pooled vector; for a longer one it
    is what "one vector for the whole document" means: every token averaged in, however many there are.
    """
    kw.pop("normalize", None)
    tokens = encode_whole(encoder, texts, window, stride, normalize=False, **kw)
    return torch.nn.functional.normalize(torch.stack([t.mean(dim=0) for t in tokens]), dim=-1)
