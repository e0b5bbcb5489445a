"""MaxSim: late-interaction scoring, the heart of ColBERT.

A query is a matrix of token vectors ``(Lq, dim)``, a document another one
``(Ld, dim)``. MaxSim lets every query token find its best match anywhere in the
document, then adds those best matches up::

    score(q, d) = sum over query tokens i of  max over document tokens j of  q_i . d_j

Read :func:`maxsim` first: it is the whole idea in three lines. :func:`maxsim_batch`
computes the same number for padded batches of queries and documents in four tensor
steps, and :func:`lateint.index.maxsim_scores` (the kernel the indexes use) computes it
again, chunked and fast; the tests prove all three agree. :func:`explain` breaks one
score into its per-token parts.

Masks follow one convention in all of lateint: ``(n, L)``, True (or 1) = a real token.
A query or document without any real token is refused with a ``ValueError`` by
every scoring function.

Vectors are usually L2-normalised, so ``q_i . d_j`` is a cosine similarity in
[-1, 1] and a query of ``Lq`` tokens scores at most ``Lq``.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch

__all__ = ["maxsim", "maxsim_batch", "pad", "explain", "Match", "cosine_scores"]


def maxsim(q: torch.Tensor, d: torch.Tensor) -> float:
    """Reference MaxSim score of one query against one document.

    Args:
        q: query token vectors, shape ``(Lq, dim)``.
        d: document token vectors, shape ``(Ld, dim)``.

    Returns:
        The sum over query tokens of each one's best dot product with any
        document token (a Python float).
    """
    check_tokens(q, "q")
    check_tokens(d, "d")
    check_same_dim(q, d)
    check_same_dtype(q, d)
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
        check_tokens(v, f"vectors[{i}]")
        check_same_dim(vectors[0], v)
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


def maxsim_batch(
    Q: torch.Tensor,
    D: torch.Tensor,
    q_mask: torch.Tensor | None = None,
    d_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """MaxSim of every query against every document, for padded batches: the readable version.

    The same number as :func:`maxsim` for each pair, in four tensor steps.
    ``lateint.index.maxsim_scores`` computes the same scores faster and with far less
    memory (the tests prove they agree); read this one first.

    Args:
        Q: queries, shape ``(nq, Lq, dim)``.
        D: documents, shape ``(nd, Ld, dim)``.
        q_mask: ``(nq, Lq)``, True (or 1) for real query tokens (default: all real).
        d_mask: ``(nd, Ld)``, True (or 1) for real document tokens (default: all real).

    Returns:
        Scores of shape ``(nq, nd)``.
    """
    q_mask, d_mask = check_batches(Q, D, q_mask, d_mask)
    sim = torch.einsum("qid,njd->qnij", Q, D)  # (nq, nd, Lq, Ld): every query token vs every document token
    sim = sim.masked_fill(~d_mask[None, :, None, :], float("-inf"))  # padding never wins a max
    best = sim.max(dim=-1).values  # (nq, nd, Lq): each query token's best match in each document
    return (best * q_mask[:, None, :]).sum(dim=-1)  # padding adds nothing to the sum


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
    check_tokens(q, "q")
    check_tokens(d, "d")
    check_same_dim(q, d)
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
            raise ValueError(f"{name} must be a 2-D tensor (n, dim) of pooled vectors, got {describe(t)}.")
    check_same_dim(queries, docs)
    qn = torch.nn.functional.normalize(queries.float(), dim=-1)
    dn = torch.nn.functional.normalize(docs.float(), dim=-1)
    return qn @ dn.T


# ---------------------------------------------------------------- input checks
# Shared by every scoring function in lateint, so that each says the same thing about bad input.


def describe(t: object) -> str:
    """A short description of a value for an error message: ``a tensor of shape (3, 4)``, ``a list``."""
    if isinstance(t, torch.Tensor):
        return f"a tensor of shape {tuple(t.shape)}"
    return f"a {type(t).__name__}"


def check_tokens(t: object, name: str) -> None:
    """``t`` must be one text's token vectors: a 2-D tensor ``(L, dim)`` with ``L >= 1``."""
    if not isinstance(t, torch.Tensor) or t.dim() != 2:
        raise ValueError(
            f"{name} must be a 2-D tensor of token vectors (tokens, dim), got {describe(t)}. "
            "For a batch use maxsim_batch() or lateint.maxsim_scores()."
        )
    if t.shape[0] == 0:
        raise ValueError(f"{name} has no token vectors (shape {tuple(t.shape)}): encode a non-empty text.")


def check_same_dim(a: torch.Tensor, b: torch.Tensor) -> None:
    """Query and document vectors must have the same size."""
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(
            f"Vectors of different sizes: {a.shape[-1]} vs {b.shape[-1]}. "
            "Encode queries and documents with the same model."
        )


def check_same_dtype(q: torch.Tensor, d: torch.Tensor) -> None:
    """Query and document vectors must have the same dtype (torch will not multiply float16 by float32)."""
    if q.dtype != d.dtype:
        raise ValueError(f"Queries are {q.dtype} but documents are {d.dtype}: cast both to the same dtype, e.g. .float().")


def check_mask(mask: object, t: torch.Tensor, name: str) -> torch.Tensor:
    """The bool mask ``(n, L)`` for batch ``t`` ``(n, L, dim)``: True = real token.

    ``None`` means every position is real; a 0/1 integer mask (as tokenizers return) is
    accepted. Every row must have at least one real token: an empty query or document has
    nothing to match, and MaxSim refuses it (as :func:`maxsim` and the indexes do).
    """
    if mask is None:
        mask = torch.ones(t.shape[:2], dtype=torch.bool, device=t.device)
    if not isinstance(mask, torch.Tensor) or tuple(mask.shape) != tuple(t.shape[:2]):
        raise ValueError(f"{name} must be a tensor of shape {tuple(t.shape[:2])} (True or 1 = real token), got {describe(mask)}.")
    if mask.dtype != torch.bool:
        odd = mask[(mask != 0) & (mask != 1)]
        if odd.numel():
            raise ValueError(f"{name} must hold True/False or 0/1 (1 = real token), got {odd.flatten()[0].item()!r} "
                             f"among its {mask.dtype} values: a mask marks tokens, it does not weigh them.")
        mask = mask.bool()
    if t.shape[1] == 0 or not bool(mask.any(dim=1).all()):
        empty = [] if t.shape[1] == 0 else (~mask.any(dim=1)).nonzero().flatten().tolist()
        which = "every row" if t.shape[1] == 0 else f"row(s) {empty[:5]}"
        raise ValueError(f"{name}: {which} have no real token; an empty query or document cannot be scored. Drop it first.")
    return mask


def check_batches(
    Q: object, D: object, q_mask: object = None, d_mask: object = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate padded batches ``Q (nq, Lq, dim)``, ``D (nd, Ld, dim)``; return their bool masks."""
    for t, name in ((Q, "Q"), (D, "D")):
        if not isinstance(t, torch.Tensor) or t.dim() != 3:
            raise ValueError(
                f"{name} must be a 3-D padded batch (n, tokens, dim), got {describe(t)}. "
                "Use lateint.pad(list_of_tensors) to build one, or maxsim() for a single pair."
            )
    check_same_dim(Q, D)
    check_same_dtype(Q, D)
    return check_mask(q_mask, Q, "q_mask"), check_mask(d_mask, D, "d_mask")
