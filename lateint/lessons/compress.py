"""Make late interaction cheaper to store: fewer vectors, fewer dimensions, fewer bits.

A single-vector retriever stores ONE vector per document; late interaction stores
one per token, a few hundred times more. Three levers shrink that, and they combine:

- fewer vectors: :func:`merge_tokens` merges a document's similar tokens into their
  mean (hierarchical clustering, as in Clavié, Chaffin and Adams 2024, "Reducing the
  Footprint of Multi-Vector Retrieval with Minimal Performance Impact via Token Pooling");
- fewer dimensions: :func:`fit_pca` finds the directions that carry most of the
  vectors' energy, :meth:`PCA.apply` projects queries and documents onto them;
- fewer bits per number: float16 (``tensor.half()``), :func:`quantize_int8` (one
  byte per number plus a scale), or :class:`ResidualCodec` (ColBERTv2 / PLAID: the id
  of the nearest of a few thousand centroids plus 1 or 2 bits per dimension for what
  the centroid misses). These codecs live in :mod:`lateint.lessons.codecs` and are
  importable from here too.

:func:`compress_corpus` applies a :class:`Compression` setting to a collection and
gives back the vectors MaxSim will see plus :func:`bytes_per_document`, what the
index would store. ``benchmarks/footprint.py`` measures every setting on full
SciFact and NFCorpus; lesson 05 shows them on a slice.

Shapes: a document is ``(L, dim)``; a corpus is a list of them or, flattened, one
``(total_tokens, dim)`` matrix. Sizes are in bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from .codecs import (
    PCA,
    Int8Vectors,
    ResidualCodec,
    ResidualCodes,
    dequantize,
    fit_pca,
    kmeans,
    quantize_int8,
    token_matrices,
)

__all__ = [
    "merge_tokens",
    "token_groups",
    "merged_tokens",
    "PCA",
    "fit_pca",
    "Int8Vectors",
    "quantize_int8",
    "dequantize",
    "ResidualCodes",
    "ResidualCodec",
    "kmeans",
    "nbytes",
    "bytes_per_document",
    "Compression",
    "CompressedCorpus",
    "compress_corpus",
    "compress_each",
]


# --------------------------------------------------------------- fewer vectors


def token_groups(doc: torch.Tensor, pool_factor: int, protected: int = 1) -> torch.Tensor:
    """Which group each of a document's tokens joins when pooled: ``(L, dim) -> (L,)`` group numbers.

    The first ``protected`` tokens ([CLS]) keep groups of their own, ``0 .. protected-1``.
    The others are clustered by Ward hierarchical clustering on cosine distances into
    ``max((L - protected) // pool_factor, 1)`` groups, numbered from ``protected`` on
    (a document too short to pool keeps one group per token).
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    if not isinstance(pool_factor, int) or pool_factor < 1:
        raise ValueError(f"pool_factor must be a whole number >= 1 (2 halves the tokens), got {pool_factor!r}.")
    if not isinstance(protected, int) or protected < 0:
        raise ValueError(f"protected must be a whole number >= 0, got {protected!r}.")
    rest = doc[protected:]
    n_groups = max(len(rest) // pool_factor, 1)
    if n_groups >= len(rest):
        return torch.arange(len(doc))
    distances = pdist(rest.double().numpy(), "cosine").clip(min=0.0)  # condensed (L(L-1)/2,)
    clusters = fcluster(linkage(distances, method="ward"), t=n_groups, criterion="maxclust")  # 1, 2, ...
    head = torch.arange(min(protected, len(doc)))
    return torch.cat([head, torch.from_numpy(clusters).long() - 1 + len(head)])


def merged_tokens(words: Sequence[str], groups: torch.Tensor) -> list[list[str]]:
    """The token strings of each group of :func:`token_groups`, groups in order.

    >>> merged_tokens(["[CLS]", "light", "house", "##s", "light"], torch.tensor([0, 1, 2, 2, 1]))
    [['[CLS]'], ['light', 'light'], ['house', '##s']]
    """
    if len(words) != len(groups):
        raise ValueError(f"{len(words)} token strings but {len(groups)} group numbers; they must align.")
    out: dict[int, list[str]] = {}
    for word, g in zip(words, groups.tolist()):
        out.setdefault(g, []).append(word)
    return [out[g] for g in sorted(out)]


def merge_tokens(vectors: Sequence[torch.Tensor], pool_factor: int, protected: int = 1) -> list[torch.Tensor]:
    """Merge each document's similar token vectors, keeping about ``1/pool_factor`` of them.

    Each group of :func:`token_groups` is replaced by the mean of its vectors (not
    re-normalised), so the first ``protected`` tokens stay as they are. This is PyLate's
    ``pool_embeddings_hierarchical``.

    Args:
        vectors: ``n`` documents, each ``(L_i, dim)``.
        pool_factor: 1 keeps every token, 2 halves them, 3 keeps a third...
        protected: leading tokens kept out of the pooling.

    Returns:
        ``n`` tensors ``(L'_i, dim)`` with ``L'_i <= L_i``: the protected tokens, then one mean per group.
    """
    docs = token_matrices(vectors, "vectors")
    out = []
    for doc in docs:
        groups = token_groups(doc, pool_factor, protected)  # (L,)
        sums = torch.zeros(int(groups.max()) + 1, doc.shape[1], dtype=doc.dtype).index_add_(0, groups, doc)
        counts = torch.bincount(groups)
        used = counts > 0  # fcluster may return fewer groups than asked
        out.append(sums[used] / counts[used].unsqueeze(1).to(doc.dtype))
    return out


# ------------------------------------------------------------------ counting


def nbytes(stored: object) -> int:
    """Bytes of every tensor in ``stored``: a tensor, a list/tuple/dict of them, or a dataclass holding them."""
    if isinstance(stored, torch.Tensor):
        return stored.numel() * stored.element_size()
    if dataclasses.is_dataclass(stored) and not isinstance(stored, type):
        return sum(nbytes(getattr(stored, f.name)) for f in dataclasses.fields(stored))
    if isinstance(stored, dict):
        return sum(nbytes(v) for v in stored.values())
    if isinstance(stored, (list, tuple)):
        return sum(nbytes(v) for v in stored)
    raise TypeError(f"Cannot count the bytes of a {type(stored).__name__}; pass tensors or containers of tensors.")


def bytes_per_document(stored: object, n_docs: int, shared: object = ()) -> float:
    """Average bytes stored per document: ``(nbytes(stored) + nbytes(shared)) / n_docs``.

    Args:
        stored: what the index keeps for the documents (token vectors, codes, scales...).
        n_docs: number of documents.
        shared: what it keeps once for the whole collection (PCA matrix, centroids,
            per-dimension scales); spread over the documents. Token counts
            (2 bytes per document) are left out: every multi-vector setting needs them.
    """
    if not isinstance(n_docs, int) or n_docs < 1:
        raise ValueError(f"n_docs must be a positive whole number, got {n_docs!r}.")
    return (nbytes(stored) + nbytes(shared)) / n_docs


# ------------------------------------------------------------ whole settings

STORAGES = ("fp32", "fp16", "int8-vector", "int8-dimension", "residual-1bit", "residual-2bit")


@dataclass(frozen=True)
class Compression:
    """One way to store a collection's token vectors.

    Attributes:
        pool_factor: token pooling (1 = keep every token).
        dim: PCA dimensions kept (``None`` = keep all).
        storage: one of ``STORAGES``: float32, float16, int8 with a scale per vector or per
            dimension, or a :class:`ResidualCodec` with 1 or 2 bits per dimension.
        n_centroids: centroids of the residual codec.
    """

    pool_factor: int = 1
    dim: int | None = None
    storage: str = "fp32"
    n_centroids: int = 1024

    def __post_init__(self) -> None:
        if self.storage not in STORAGES:
            raise ValueError(f"storage must be one of {STORAGES}, got {self.storage!r}.")

    @property
    def label(self) -> str:
        """A short name such as ``"pool 2 + PCA 128 + residual-2bit"``."""
        parts = [f"pool {self.pool_factor}"] if self.pool_factor > 1 else []
        parts += [f"PCA {self.dim}"] if self.dim is not None else []
        storage = f"{self.storage} ({self.n_centroids} centroids)" if self.storage.startswith("residual") else self.storage
        return " + ".join(parts + [storage])


@dataclass
class CompressedCorpus:
    """The result of :func:`compress_corpus`.

    Attributes:
        docs: each document's vectors as MaxSim sees them after decoding, ``(L'_i, d)`` float32.
        queries: the queries, projected like the documents, ``(Lq_i, d)``.
        bytes_per_doc: average bytes stored per document (see :func:`bytes_per_document`).
        vectors_per_doc: average vectors kept per document.
    """

    docs: list[torch.Tensor]
    queries: list[torch.Tensor]
    bytes_per_doc: float
    vectors_per_doc: float


def compress_corpus(
    docs: Sequence[torch.Tensor], queries: Sequence[torch.Tensor], setting: Compression, seed: int = 0
) -> CompressedCorpus:
    """Store ``docs`` as ``setting`` says, then decode them for MaxSim.

    The steps run in this order, each fitted on the documents only: token pooling,
    PCA (queries are projected too), then the number format. Shared tables (the PCA
    matrix, the centroids) are counted and used in float16. Queries are never pooled
    or quantised: they are encoded at search time and not stored. Finally documents
    and queries are re-normalised to unit length (as ColBERTv2 does after decoding),
    so MaxSim keeps comparing cosines; this recovers most of what PCA and the
    residual codec lose in length.
    """
    docs = token_matrices(docs, "docs")
    queries = token_matrices(queries, "queries")
    shared: list[torch.Tensor] = []
    if setting.pool_factor > 1:
        docs = merge_tokens(docs, setting.pool_factor)
    if setting.dim is not None:
        pca = fit_pca(docs, setting.dim, seed=seed)
        pca = PCA(pca.components.half().float(), pca.energy)  # stored in float16: project with exactly that
        docs, queries = pca.apply(docs), pca.apply(queries)
        shared.append(pca.components.half())
    flat, lengths = torch.cat(docs).float(), [len(d) for d in docs]
    if setting.storage in ("fp32", "fp16"):
        stored = flat.half() if setting.storage == "fp16" else flat
        decoded = stored.float()
    elif setting.storage.startswith("int8"):
        stored = quantize_int8(flat, per=setting.storage.split("-")[1])
        decoded = dequantize(stored)
    else:
        codec = ResidualCodec.fit(flat, setting.n_centroids, bits=int(setting.storage[-4]), seed=seed)
        codec.centroids = codec.centroids.half().float()  # stored in float16: encode and decode with exactly that
        stored = codec.encode(flat)
        decoded = codec.decode(stored)
        shared += [codec.centroids.half(), codec.cutoffs, codec.values]
    unit = torch.nn.functional.normalize  # compare directions (cosines), as for the uncompressed vectors
    return CompressedCorpus(
        docs=list(torch.split(unit(decoded, dim=-1), lengths)),
        queries=[unit(q.float(), dim=-1) for q in queries],
        bytes_per_doc=bytes_per_document(stored, len(docs), shared),
        vectors_per_doc=len(flat) / len(docs),
    )


def compress_each(
    docs: Sequence[torch.Tensor], queries: Sequence[torch.Tensor], settings: Sequence[Compression], seed: int = 0
) -> Iterator[tuple[Compression, CompressedCorpus]]:
    """:func:`compress_corpus` for several settings, one at a time: ``(setting, result)`` pairs.

    Token pooling, the slow step, runs once per pool factor and is shared by the
    settings that use it. Results are yielded one by one so that only one decoded
    copy of the collection is held at a time.
    """
    pooled: dict[int, list[torch.Tensor]] = {1: token_matrices(docs, "docs")}
    for setting in settings:
        if setting.pool_factor not in pooled:
            pooled[setting.pool_factor] = merge_tokens(pooled[1], setting.pool_factor)
        yield setting, compress_corpus(pooled[setting.pool_factor], queries, dataclasses.replace(setting, pool_factor=1), seed)


# --------------------------------------------------------------------- checks
