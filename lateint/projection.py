"""Random projections of token vectors: fewer numbers per token, dot products kept on average.

A ColBERT head ends with a small linear map of every token vector (384 -> 128 numbers, say),
then L2-normalises each row. Before training, that map can be a random Gaussian matrix: by the
Johnson-Lindenstrauss lemma it keeps dot products and lengths on average. Lesson 03 uses it to
measure how many numbers per token MaxSim needs (:mod:`lateint.lessons.colbertize`), and
:mod:`lateint.train` starts a smaller projection from it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["random_projection", "project"]


def random_projection(dim_in: int, dim_out: int, seed: int = 0) -> torch.Tensor:
    """A ``(dim_out, dim_in)`` matrix of Gaussian entries with variance ``1 / dim_out``.

    Multiplying by it keeps dot products and lengths on average (Johnson-Lindenstrauss).
    The same seed always gives the same matrix.
    """
    for name, value in (("dim_in", dim_in), ("dim_out", dim_out)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    gen = torch.Generator().manual_seed(seed)
    return torch.randn((dim_out, dim_in), generator=gen) / dim_out**0.5


def project(vectors: Sequence[torch.Tensor], matrix: torch.Tensor) -> list[torch.Tensor]:
    """Project each ``(L_i, dim_in)`` token matrix by ``matrix`` ``(dim_out, dim_in)`` and
    L2-normalise the rows, as a ColBERT head does: a list of ``(L_i, dim_out)`` tensors."""
    if not isinstance(matrix, torch.Tensor) or matrix.dim() != 2:
        raise ValueError(f"matrix must be a 2-D tensor (dim_out, dim_in), got {getattr(matrix, 'shape', matrix)!r}")
    out = []
    for i, v in enumerate(vectors):
        if not isinstance(v, torch.Tensor) or v.dim() != 2 or v.shape[1] != matrix.shape[1]:
            raise ValueError(
                f"vectors[{i}] must be a (tokens, {matrix.shape[1]}) tensor to fit the projection, "
                f"got {getattr(v, 'shape', type(v).__name__)}"
            )
        out.append(torch.nn.functional.normalize(v.float() @ matrix.T, dim=-1))
    return out
