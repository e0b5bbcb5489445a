"""MaxSim: late-interaction scoring, the heart of ColBERT.

A query is a matrix of token vectors ``(Lq, dim)``, a document another one
``(Ld, dim)``. MaxSim lets every query token find its best match anywhere in the
document, then adds those best matches up::

    score(q, d) = sum over query tokens i of  max over document tokens j of  q_i . d_j

Read :func:`maxsim` first: it is the whole idea in three lines. Everything else
in this module computes exactly the same number, only faster and for many
queries and documents at once (the tests prove they agree).

Vectors are usually L2-normalised, so ``q_i . d_j`` is a cosine similarity in
[-1, 1] and a query of ``Lq`` tokens scores at most ``Lq``.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch

__all__ = [
    "maxsim",
    "maxsim_scores",
    "maxsim_scores_ragged",
    "pad",
    "explain",
    "Match",
    "cosine_scores",
]


def maxsim(q: torch.Tensor, d: torch.Tensor) -> float:
    """Reference MaxSim score of one query against one document.

    Args:
        q: query token vectors, shape ``(Lq, dim)``.
        d: document token vectors, shape ``(Ld, dim)``.

    Returns:
        The sum over query tokens of each one's best dot product with any
        document token (a Python float).
    """
    _check_matrix(q, "q")
    _check_matrix(d, "d")
    _check_same_dim(q, d)
    sim = q @ d.T  # (Lq, Ld): every query token against every document token
    best = sim.max(dim=1).values  # (Lq,): each query token's best match
    return best.sum().item()


def pad(
    vectors: Sequence[torch.Tensor], length: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ragged token matrices into one zero-padded batch with its mask.

    Args:
        vectors: ``n`` tensors of shape ``(L_i, dim)``.
        length: pad to this many tokens (default: the longest ``L_i``).

    Returns:
        ``(batch, mask)``: ``batch`` of shape ``(n, L, dim)`` and ``mask`` of
        shape ``(n, L)``, ``True`` where a real token sits.
    """
    if len(vectors) == 0:
        raise ValueError("pad() got an empty list: pass at least one (L, dim) tensor.")
    for i, v in enumerate(vectors):
        _check_matrix(v, f"vectors[{i}]")
        _check_same_dim(vectors[0], v)
    longest = max(v.shape[0] for v in vectors)
    length = longest if length is None else length
    if length < longest:
        raise ValueError(f"pad(length={length}) is shorter than the longest input ({longest} tokens).")
    dim = vectors[0].shape[1]
    batch = vectors[0].new_zeros((len(vectors), length, dim))
    mask = torch.zeros((len(vectors), length), dtype=torch.bool, device=vectors[0].device)
    for i, v in enumerate(vectors):
        batch[i, : v.shape[0]] = v
        mask[i, : v.shape[0]] = True
    return batch, mask


def maxsim_scores(
    Q: torch.Tensor,
    D: torch.Tensor,
    q_mask: torch.Tensor | None = None,
    d_mask: torch.Tensor | None = None,
    chunk_bytes: int = 4 * 2**20,
) -> torch.Tensor:
    """MaxSim of every query against every document, for padded batches.

    Same number as :func:`maxsim` for each pair, computed as one matrix product
    per chunk of documents: all document tokens of the chunk (rows) against all
    query tokens (columns), then a max over each document's rows and a sum over
    each query's columns. A padded document position never wins a max (its row is
    set to -inf), a padded query position never adds to the sum (it is zeroed
    after the max).

    Speed notes (see ``benchmarks/maxsim_speed.py``): with ``d_mask``, documents are
    taken longest first and each chunk is cut to its own longest document, so
    padding costs little even in a batch of very uneven lengths; the similarity
    block of one chunk is kept near ``chunk_bytes`` so it stays in the CPU cache,
    and it is written into one reused buffer; only padded rows are touched by the mask.

    Args:
        Q: queries, shape ``(nq, Lq, dim)``.
        D: documents, shape ``(nd, Ld, dim)``, same dtype as ``Q``.
        q_mask: ``(nq, Lq)`` bool, ``True`` for real query tokens (default: all real).
        d_mask: ``(nd, Ld)`` bool, ``True`` for real document tokens (default: all real).
        chunk_bytes: memory budget for one similarity block, in bytes.

    Returns:
        Scores of shape ``(nq, nd)``, float32 (computed in ``Q``'s dtype, summed in float32).
    """
    _check_batch(Q, q_mask, "Q", "q_mask")
    _check_batch(D, d_mask, "D", "d_mask")
    if Q.shape[-1] != D.shape[-1]:
        raise ValueError(
            f"Query and document vectors have different sizes: Q has dim {Q.shape[-1]}, "
            f"D has dim {D.shape[-1]}. Encode both with the same model."
        )
    if Q.dtype != D.dtype:
        raise ValueError(f"Q is {Q.dtype} but D is {D.dtype}: cast both to the same dtype.")
    nq, Lq, dim = Q.shape
    nd, Ld, _ = D.shape
    out = torch.empty((nq, nd), dtype=torch.float32, device=Q.device)
    if nd == 0 or nq == 0 or Lq == 0 or Ld == 0:
        return out.zero_()
    if d_mask is None:
        order, ends = None, None
    else:
        # one past each document's last real token; longest documents first
        ends = (d_mask * torch.arange(1, Ld + 1, device=D.device)).amax(dim=1)
        order = torch.argsort(ends, descending=True)
    queries_T = Q.reshape(nq * Lq, dim).T  # (dim, nq*Lq): every query token is a column
    row_bytes = nq * Lq * Q.element_size()  # one document token's similarities
    buffer = Q.new_empty((min(nd * Ld, max(Ld, chunk_bytes // row_bytes)), nq * Lq))
    start = 0
    while start < nd:
        L = Ld if order is None else max(1, int(ends[order[start]]))  # the chunk's longest document
        c = max(1, chunk_bytes // (L * row_bytes))  # documents in this chunk
        if order is None:
            idx = slice(start, start + c)
            Dc = D[idx]  # (c, L, dim), a view
        else:
            idx = order[start : start + c]
            Dc = D[idx, :L]  # (c, L, dim), gathered
        c = Dc.shape[0]
        sim = torch.mm(Dc.reshape(c * L, dim), queries_T, out=buffer[: c * L])  # (c*L, nq*Lq)
        if d_mask is not None:
            padded_rows = (~d_mask[idx, :L]).reshape(-1).nonzero().squeeze(1)
            sim.index_fill_(0, padded_rows, float("-inf"))
        best = sim.view(c, L, nq, Lq).amax(dim=1).to(torch.float32)  # (c, nq, Lq): best match per query token
        if q_mask is not None:
            # where=... rather than a product: 0 * -inf would be nan for a document with no real token
            best = torch.where(q_mask, best, torch.zeros((), dtype=best.dtype))
        out[:, idx] = best.sum(dim=2).T
        start += c
    return out


def maxsim_scores_ragged(
    queries: Sequence[torch.Tensor], docs: Sequence[torch.Tensor], **kwargs
) -> torch.Tensor:
    """:func:`maxsim_scores` for lists of ``(L_i, dim)`` tensors: pads, then scores.

    Returns:
        Scores of shape ``(len(queries), len(docs))``.
    """
    Q, qm = pad(queries)
    D, dm = pad(docs)
    return maxsim_scores(Q, D, qm, dm, **kwargs)


class Match(NamedTuple):
    """How one query token found its best document token."""

    query_position: int
    query_token: str | None
    doc_position: int
    doc_token: str | None
    similarity: float


def explain(
    q: torch.Tensor,
    d: torch.Tensor,
    query_tokens: Sequence[str] | None = None,
    doc_tokens: Sequence[str] | None = None,
) -> list[Match]:
    """Break one MaxSim score into its parts, one row per query token.

    Args:
        q: query token vectors ``(Lq, dim)``.
        d: document token vectors ``(Ld, dim)``.
        query_tokens, doc_tokens: the token strings aligned with the rows of
            ``q`` and ``d`` (e.g. from ``Encoder.query_tokens``), optional.

    Returns:
        ``Lq`` :class:`Match` rows; their ``similarity`` values sum to ``maxsim(q, d)``.
    """
    _check_matrix(q, "q")
    _check_matrix(d, "d")
    _check_same_dim(q, d)
    for name, toks, m in (("query_tokens", query_tokens, q), ("doc_tokens", doc_tokens, d)):
        if toks is not None and len(toks) != m.shape[0]:
            raise ValueError(f"{name} has {len(toks)} strings but there are {m.shape[0]} vectors; they must align.")
    best = (q @ d.T).max(dim=1)
    rows = []
    for i, (j, s) in enumerate(zip(best.indices.tolist(), best.values.tolist())):
        rows.append(
            Match(
                i,
                None if query_tokens is None else query_tokens[i],
                j,
                None if doc_tokens is None else doc_tokens[j],
                s,
            )
        )
    return rows


def cosine_scores(queries: torch.Tensor, docs: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of pooled vectors, ``(nq, dim) x (nd, dim) -> (nq, nd)``."""
    for name, t in (("queries", queries), ("docs", docs)):
        if not isinstance(t, torch.Tensor) or t.dim() != 2:
            raise ValueError(f"{name} must be a 2-D tensor (n, dim) of pooled vectors, got {_describe(t)}.")
    _check_same_dim(queries, docs)
    qn = torch.nn.functional.normalize(queries.float(), dim=-1)
    dn = torch.nn.functional.normalize(docs.float(), dim=-1)
    return qn @ dn.T


# ---------------------------------------------------------------- input checks


def _describe(t: object) -> str:
    if isinstance(t, torch.Tensor):
        return f"a tensor of shape {tuple(t.shape)}"
    return f"a {type(t).__name__}"


def _check_matrix(t: object, name: str) -> None:
    if not isinstance(t, torch.Tensor) or t.dim() != 2:
        raise ValueError(
            f"{name} must be a 2-D tensor of token vectors (tokens, dim), got {_describe(t)}. "
            "For a batch use maxsim_scores()."
        )
    if t.shape[0] == 0:
        raise ValueError(f"{name} has no token vectors (shape {tuple(t.shape)}): encode a non-empty text.")


def _check_same_dim(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"Vectors of different sizes: {a.shape[-1]} vs {b.shape[-1]}. "
            "Encode queries and documents with the same model."
        )


def _check_batch(t: object, mask: object, name: str, mask_name: str) -> None:
    if not isinstance(t, torch.Tensor) or t.dim() != 3:
        raise ValueError(
            f"{name} must be a 3-D padded batch (n, tokens, dim), got {_describe(t)}. "
            "Use lateint.pad(list_of_tensors) to build one, or maxsim() for a single pair."
        )
    if mask is None:
        return
    if not isinstance(mask, torch.Tensor) or mask.shape != t.shape[:2] or mask.dtype != torch.bool:
        raise ValueError(
            f"{mask_name} must be a bool tensor of shape {tuple(t.shape[:2])} (True = real token), "
            f"got {_describe(mask)}{'' if not isinstance(mask, torch.Tensor) else ' of dtype ' + str(mask.dtype)}."
        )
