"""Fewer dimensions and fewer bits per number: the codecs behind lesson 05's levers.

- :func:`fit_pca` finds the directions that carry most of the vectors' energy;
  :meth:`PCA.apply` projects queries and documents onto them;
- :func:`quantize_int8` stores one byte per number plus a scale;
- :class:`ResidualCodec` (ColBERTv2 / PLAID) stores the id of the nearest of a few
  thousand :func:`kmeans` centroids plus 1 or 2 bits per dimension for what the
  centroid misses.

:mod:`lateint.lessons.compress` combines them with token merging into settings.
Shapes: a document is ``(L, dim)``; a corpus is a list of them or, flattened, one
``(total_tokens, dim)`` matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..similarity import describe

__all__ = [
    "PCA",
    "fit_pca",
    "Int8Vectors",
    "quantize_int8",
    "dequantize",
    "ResidualCodes",
    "ResidualCodec",
    "kmeans",
    "token_matrices",
    "flatten",
    "sample_rows",
]


# ----------------------------------------------------------- fewer dimensions


@dataclass(frozen=True)
class PCA:
    """A projection onto the ``dim`` directions that carry most of the vectors' energy.

    Attributes:
        components: ``(dim, dim_in)``, orthonormal rows, most important first.
        energy: ``(dim,)``, the fraction of the vectors' squared length along each direction.
    """

    components: torch.Tensor
    energy: torch.Tensor

    @property
    def dim(self) -> int:
        return self.components.shape[0]

    def apply(self, vectors: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor | list[torch.Tensor]:
        """Project ``(..., dim_in) -> (..., dim)``; a list of ``(L_i, dim_in)`` gives a list.

        Queries and documents must both be projected. The result is not re-normalised:
        dot products in the projected space approximate the original ones (at the full
        dimension they are equal, since the projection is then a rotation).
        """
        if isinstance(vectors, torch.Tensor):
            if vectors.shape[-1] != self.components.shape[1]:
                raise ValueError(
                    f"This PCA was fitted on {self.components.shape[1]}-dimensional vectors, got {vectors.shape[-1]}."
                )
            return vectors.to(self.components.dtype) @ self.components.T
        return [self.apply(v) for v in token_matrices(vectors, "vectors")]

    def inverse(self, projected: torch.Tensor) -> torch.Tensor:
        """Back to the original space, ``(..., dim) -> (..., dim_in)``; exact when ``dim == dim_in``."""
        return projected @ self.components


def fit_pca(vectors: torch.Tensor | Sequence[torch.Tensor], dim: int, max_vectors: int = 200_000, seed: int = 0) -> PCA:
    """Fit a :class:`PCA` keeping ``dim`` directions.

    The directions are the top eigenvectors of ``X^T X`` for the stacked vectors ``X``
    (an SVD of ``X``). ``X`` is deliberately not centred: subtracting a mean would
    change every dot product, and dot products are what MaxSim compares.

    Args:
        vectors: ``(n, dim_in)``, or a list of ``(L_i, dim_in)`` documents (stacked).
        dim: directions to keep, ``1 <= dim <= dim_in``.
        max_vectors: fit on at most this many vectors, drawn at random with ``seed``.
    """
    X = flatten(vectors, "vectors")
    if not isinstance(dim, int) or not 1 <= dim <= X.shape[1]:
        raise ValueError(f"dim must be a whole number between 1 and {X.shape[1]} (the vectors' size), got {dim!r}.")
    X = sample_rows(X, max_vectors, seed).double()
    eigenvalues, eigenvectors = torch.linalg.eigh(X.T @ X)  # ascending
    top = torch.argsort(eigenvalues, descending=True)[:dim]
    energy = eigenvalues[top].clamp(min=0) / eigenvalues.clamp(min=0).sum()
    return PCA(components=eigenvectors[:, top].T.float().contiguous(), energy=energy.float())


# --------------------------------------------------------------- fewer bits


@dataclass(frozen=True)
class Int8Vectors:
    """Vectors stored as int8 ``codes`` times a float32 ``scale``.

    Attributes:
        codes: ``(n, dim)`` int8 in [-127, 127].
        scale: ``(n, 1)`` (one per vector) or ``(1, dim)`` (one per dimension, shared by the whole collection).
    """

    codes: torch.Tensor
    scale: torch.Tensor


def quantize_int8(vectors: torch.Tensor, per: str = "vector") -> Int8Vectors:
    """Round ``(n, dim)`` float vectors to int8 with a symmetric scale.

    ``per="vector"``: each vector's largest magnitude maps to 127 (4 bytes of scale per
    vector). ``per="dimension"``: each dimension's largest magnitude over all ``n``
    vectors maps to 127 (one scale per dimension, stored once). Either way the error
    of every number is at most half its scale.
    """
    if not isinstance(vectors, torch.Tensor) or vectors.dim() != 2:
        raise ValueError(f"quantize_int8 needs a (n, dim) tensor; got {describe(vectors)}. Use torch.cat on a list.")
    if per not in ("vector", "dimension"):
        raise ValueError(f"per must be 'vector' or 'dimension', got {per!r}.")
    x = vectors.float()
    largest = x.abs().amax(dim=1 if per == "vector" else 0, keepdim=True)  # (n, 1) or (1, dim)
    scale = (largest / 127).clamp(min=torch.finfo(torch.float32).tiny)
    codes = torch.round(x / scale).clamp(-127, 127).to(torch.int8)
    return Int8Vectors(codes=codes, scale=scale)


def dequantize(q: Int8Vectors) -> torch.Tensor:
    """Back to float32 ``(n, dim)``: ``codes * scale``."""
    return q.codes.float() * q.scale


@dataclass(frozen=True)
class ResidualCodes:
    """Vectors stored by :class:`ResidualCodec`.

    Attributes:
        centroid: ``(n,)`` id of each vector's nearest centroid (int16 when there are at most 32,768 centroids).
        residual: ``(n, dim * bits / 8)`` uint8, the packed bucket numbers of each dimension's residual.
    """

    centroid: torch.Tensor
    residual: torch.Tensor


class ResidualCodec:
    """Centroid + low-bit residual compression, as in ColBERTv2 and PLAID.

    Each vector is stored as the id of its nearest centroid (found by k-means on the
    collection) plus, for every dimension, ``bits`` bits saying in which quantile
    bucket the residual ``vector - centroid`` falls. Decoding adds the bucket's
    typical value back to the centroid. ColBERTv2 shares one set of buckets across
    dimensions; here each dimension has its own (stored once, a few kilobytes).

    Attributes:
        centroids: ``(k, dim)``; ``cutoffs``: ``(dim, 2**bits - 1)`` bucket boundaries;
        values: ``(dim, 2**bits)`` the value decoded for each bucket; ``bits``: 1, 2, 4 or 8.
    """

    def __init__(self, centroids: torch.Tensor, cutoffs: torch.Tensor, values: torch.Tensor, bits: int) -> None:
        if bits not in (1, 2, 4, 8):
            raise ValueError(f"bits must be 1, 2, 4 or 8 (whole buckets per byte), got {bits!r}.")
        dim = centroids.shape[1]
        if cutoffs.shape != (dim, 2**bits - 1) or values.shape != (dim, 2**bits):
            raise ValueError(
                f"For {dim} dimensions and {bits} bits, cutoffs must be {(dim, 2**bits - 1)} and values "
                f"{(dim, 2**bits)}; got {tuple(cutoffs.shape)} and {tuple(values.shape)}."
            )
        if (dim * bits) % 8:
            raise ValueError(f"dim * bits must be a multiple of 8 to pack into bytes; got {dim} * {bits}.")
        self.centroids, self.cutoffs, self.values, self.bits = centroids, cutoffs, values, bits

    def __repr__(self) -> str:
        k, dim = self.centroids.shape
        return f"ResidualCodec({k} centroids, dim {dim}, {self.bits} bit(s) per dimension)"

    @classmethod
    def fit(
        cls,
        vectors: torch.Tensor | Sequence[torch.Tensor],
        n_centroids: int = 1024,
        bits: int = 2,
        iterations: int = 10,
        max_vectors: int = 100_000,
        seed: int = 0,
    ) -> ResidualCodec:
        """Learn the centroids (k-means) and the residual buckets (quantiles) from ``vectors``.

        Args:
            vectors: ``(n, dim)`` or a list of ``(L_i, dim)`` documents.
            n_centroids: k of k-means (ColBERTv2 uses about ``16 * sqrt(n)``, rounded down to a power of two).
            bits: bits per dimension of the residual.
            max_vectors: fit on at most this many vectors, drawn at random with ``seed``.
        """
        X = sample_rows(flatten(vectors, "vectors").float(), max_vectors, seed)
        if not isinstance(n_centroids, int) or not 1 <= n_centroids <= X.shape[0]:
            raise ValueError(f"n_centroids must be between 1 and the {X.shape[0]} vectors fitted on, got {n_centroids!r}.")
        centroids = kmeans(X, n_centroids, iterations, seed)
        residual = X - centroids[_nearest(X, centroids)]  # (n, dim)
        n_buckets = 2**bits
        cut_q = torch.arange(1, n_buckets, dtype=torch.float32) / n_buckets  # bucket edges: equal-count buckets
        mid_q = (torch.arange(n_buckets, dtype=torch.float32) + 0.5) / n_buckets  # each bucket's middle
        return cls(centroids, _quantiles(residual, cut_q), _quantiles(residual, mid_q), bits)

    def encode(self, vectors: torch.Tensor) -> ResidualCodes:
        """``(n, dim)`` float -> :class:`ResidualCodes`."""
        if not isinstance(vectors, torch.Tensor) or vectors.dim() != 2 or vectors.shape[1] != self.centroids.shape[1]:
            raise ValueError(f"encode needs a (n, {self.centroids.shape[1]}) tensor; got {describe(vectors)}.")
        x = vectors.float()
        ids = _nearest(x, self.centroids)
        residual = x - self.centroids[ids]
        buckets = torch.searchsorted(self.cutoffs, residual.T.contiguous()).T  # (n, dim) in [0, 2**bits)
        id_dtype = torch.int16 if len(self.centroids) <= 2**15 else torch.int32
        return ResidualCodes(centroid=ids.to(id_dtype), residual=_pack(buckets, self.bits))

    def decode(self, codes: ResidualCodes) -> torch.Tensor:
        """:class:`ResidualCodes` -> ``(n, dim)`` float32: centroid plus each bucket's value."""
        dim = self.centroids.shape[1]
        buckets = _unpack(codes.residual, self.bits, dim)  # (n, dim)
        residual = torch.gather(self.values, 1, buckets.T.contiguous()).T  # values[j, bucket[i, j]]
        return self.centroids[codes.centroid.long()] + residual


def _quantiles(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Per-column quantiles ``q`` of ``x``: ``(n, dim) -> (dim, len(q))`` (nearest rank)."""
    ranks = (q * (x.shape[0] - 1)).round().long()
    return x.sort(dim=0).values[ranks].T.contiguous()


def kmeans(vectors: torch.Tensor, k: int, iterations: int = 10, seed: int = 0) -> torch.Tensor:
    """Lloyd's k-means: ``(n, dim) -> (k, dim)`` centroids.

    Starts from ``k`` distinct random vectors (with ``seed``), then alternates: give
    every vector to its nearest centroid, move each centroid to the mean of its
    vectors (a centroid left with none stays where it is). A few lines of torch,
    because the assignment is one matrix product (scipy's ``kmeans2`` takes minutes here).
    """
    if not isinstance(vectors, torch.Tensor) or vectors.dim() != 2:
        raise ValueError(f"kmeans needs a (n, dim) tensor; got {describe(vectors)}.")
    if not 1 <= k <= vectors.shape[0]:
        raise ValueError(f"k must be between 1 and the number of vectors ({vectors.shape[0]}), got {k}.")
    x = vectors.float()
    gen = torch.Generator().manual_seed(seed)
    centroids = x[torch.randperm(x.shape[0], generator=gen)[:k]].clone()
    for _ in range(iterations):
        ids = _nearest(x, centroids)
        sums = torch.zeros_like(centroids).index_add_(0, ids, x)
        counts = torch.bincount(ids, minlength=k)
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled].unsqueeze(1)
    return centroids


def _nearest(x: torch.Tensor, centroids: torch.Tensor, chunk: int = 16384) -> torch.Tensor:
    """Index of the nearest centroid (Euclidean) of each row of ``x``: ``(n, dim) -> (n,)``."""
    half_norm = 0.5 * (centroids * centroids).sum(dim=1)  # |x - c|^2 = |x|^2 - 2 (x.c - |c|^2 / 2)
    return torch.cat([(x[s : s + chunk] @ centroids.T - half_norm).argmax(dim=1) for s in range(0, len(x), chunk)])


def _pack(buckets: torch.Tensor, bits: int) -> torch.Tensor:
    """``(n, dim)`` small ints -> ``(n, dim * bits / 8)`` uint8, first dimension in the lowest bits."""
    per_byte = 8 // bits
    shifts = torch.arange(per_byte, dtype=torch.uint8) * bits
    groups = buckets.to(torch.uint8).view(buckets.shape[0], -1, per_byte)
    return (groups << shifts).sum(dim=2, dtype=torch.uint8)


def _unpack(packed: torch.Tensor, bits: int, dim: int) -> torch.Tensor:
    """Inverse of :func:`_pack`: ``(n, dim * bits / 8)`` uint8 -> ``(n, dim)`` int64."""
    per_byte = 8 // bits
    shifts = torch.arange(per_byte, dtype=torch.uint8) * bits
    mask = (1 << bits) - 1
    return ((packed.unsqueeze(2) >> shifts) & mask).view(packed.shape[0], dim).long()


# --------------------------------------------------------------- input checks


def token_matrices(vectors: Sequence[torch.Tensor], name: str) -> list[torch.Tensor]:
    if isinstance(vectors, torch.Tensor) or not isinstance(vectors, Sequence) or len(vectors) == 0:
        raise ValueError(f"{name} must be a non-empty list of (L_i, dim) tensors, got {describe(vectors)}.")
    for i, v in enumerate(vectors):
        if not isinstance(v, torch.Tensor) or v.dim() != 2 or v.shape[0] == 0 or v.shape[1] != vectors[0].shape[1]:
            raise ValueError(
                f"{name}[{i}] must be a non-empty (L, dim) tensor with the same dim as {name}[0], got {describe(v)}."
            )
    return list(vectors)


def flatten(vectors: torch.Tensor | Sequence[torch.Tensor], name: str) -> torch.Tensor:
    if isinstance(vectors, torch.Tensor):
        if vectors.dim() != 2 or vectors.shape[0] == 0:
            raise ValueError(f"{name} must be a non-empty (n, dim) tensor, got {describe(vectors)}.")
        return vectors
    return torch.cat(token_matrices(vectors, name))


def sample_rows(x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    if len(x) <= n:
        return x
    return x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:n]]
