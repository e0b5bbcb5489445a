"""Pooling: squeeze a document's token vectors into ONE vector.

This is what a single-vector ("dense", "bi-encoder") retriever does, and what the
course argues against for long or fact-dense documents: every token is averaged
into the same 384 numbers, so one specific fact gets diluted by everything else.

All functions take a padded batch ``hidden`` of shape ``(n, L, dim)`` and an
attention ``mask`` of shape ``(n, L)`` (1/True = real token) and return ``(n, dim)``.
"""

from __future__ import annotations

import torch

from .similarity import check_mask, describe

__all__ = ["mean_pool", "cls_pool", "max_pool", "pool", "POOLINGS"]


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average of the real tokens' vectors (padding excluded), ``(n, L, dim) -> (n, dim)``."""
    m = mask.unsqueeze(-1).to(hidden.dtype)  # (n, L, 1)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)


def cls_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The first token's vector ([CLS] for BERT models), ``(n, L, dim) -> (n, dim)``."""
    return hidden[:, 0]


def max_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Element-wise maximum over the real tokens, ``(n, L, dim) -> (n, dim)``."""
    fill = torch.finfo(hidden.dtype).min
    return hidden.masked_fill(~mask.bool().unsqueeze(-1), fill).amax(dim=1)


POOLINGS = {"mean": mean_pool, "cls": cls_pool, "max": max_pool}


def pool(hidden: torch.Tensor, mask: torch.Tensor, how: str = "mean") -> torch.Tensor:
    """Pool by name: ``"mean"``, ``"cls"`` or ``"max"``. Shapes as above.

    ``mask`` is checked as MaxSim checks it (:func:`lateint.similarity.check_mask`): bool or 0/1 values, and
    every row needs a real token (an empty text has nothing to pool).
    """
    if how not in POOLINGS:
        raise ValueError(f"Unknown pooling {how!r}: choose one of {sorted(POOLINGS)}.")
    if not isinstance(hidden, torch.Tensor) or hidden.dim() != 3:
        raise ValueError(f"pool() needs hidden (n, L, dim), got {describe(hidden)}.")
    return POOLINGS[how](hidden, check_mask(mask, hidden, "mask"))  # the masks MaxSim accepts, checked alike
