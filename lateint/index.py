"""Small in-memory indexes: brute-force MaxSim and pooled cosine, with top-k search.

"Brute force" means every query is scored against every document. That is exact,
simple, and fast enough for the course's collections (a few thousand documents);
lesson 05 shows the levers (fewer dimensions, token pooling, quantisation,
candidate generation) that real engines pull to go further.

Both indexes share one interface:

- ``scores(queries) -> (nq, nd)`` float32 tensor;
- ``search(queries, k) -> list`` of ranked ``[(doc_id, score), ...]`` per query (equal
  scores by doc id, descending, as ``lateint.metrics`` ranks them);
- ``run(queries, query_ids, k) -> {query id: {doc id: score}}`` for ``lateint.metrics``;
- ``save(path)`` / ``load(path)``: one safetensors file, ids in its metadata.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .cache import encode
from .metrics import Hit, Run, check_k, run_from_hits, top_k
from .files import write_atomically
from .similarity import check_batches, check_same_dtype, check_tokens, cosine_scores, pad

if TYPE_CHECKING:
    from .chunking import ChunkIndex

__all__ = ["maxsim_scores", "maxsim_flat", "MaxSimIndex", "PooledIndex", "load_index"]


def maxsim_scores(
    Q: torch.Tensor | Sequence[torch.Tensor],
    D: torch.Tensor | Sequence[torch.Tensor],
    q_mask: torch.Tensor | None = None,
    d_mask: torch.Tensor | None = None,
    chunk_bytes: int | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """MaxSim of every query against every document: the fast kernel the indexes use.

    Same number as :func:`lateint.similarity.maxsim` for each pair and as the readable
    :func:`lateint.similarity.maxsim_batch` for a batch (the tests prove it). The documents' real
    tokens (a padded batch's unmasked rows, or a list's tensors) are taken one after the other,
    without padding, and scored by :func:`maxsim_flat`: one matrix product per block of document
    tokens, then each document's best match per query token, then a sum over each query's real tokens.

    Args:
        Q: queries, a padded batch ``(nq, Lq, dim)``, or a list of ``(Lq_i, dim)`` tensors
            (padded here, with their mask).
        D: documents, ``(nd, Ld, dim)`` (same dtype as ``Q``) or a list of ``(Ld_i, dim)`` tensors
            (concatenated in groups of at most ``_GROUP_BYTES``, 64 MiB, so memory stays bounded).
        q_mask: ``(nq, Lq)``, True (or 1) for real query tokens (default: all real).
        d_mask: ``(nd, Ld)``, True (or 1) for real document tokens (default: all real).
        chunk_bytes: memory for one block of similarities, in bytes (default: 4 MiB in float32, 8 MiB in
            bf16, the fastest on an AMX Xeon: ``benchmarks/README.md``).
        dtype: compute the similarities in this dtype (default: ``Q``'s). ``torch.bfloat16`` is the
            opt-in fast path on a CPU with native bf16 (``lateint.cpu.cpu_features().native_bf16``:
            AVX512-BF16 or AMX), several times faster than float32 there; elsewhere it still works,
            emulated and slower than float32. bf16 keeps 8 bits of mantissa: the vectors and each
            similarity are rounded to within 2**-9 of their size, so for unit vectors a token's best
            match moves by at most about 0.006 and a score by at most ``0.01 * Lq`` (the tolerance
            ``tests/test_maxsim_bf16.py`` checks; typical errors are ten times smaller). Near-ties
            may swap places.

    Returns:
        Scores of shape ``(nq, nd)``, float32 on ``Q``'s device (the max is taken in the compute
        dtype, the sum in float32).
    """
    if not isinstance(Q, torch.Tensor):
        Q, q_mask = pad(Q)
    if dtype is not None:
        Q = Q.to(dtype)
    if not isinstance(D, torch.Tensor):
        docs = list(D)
        if not docs:
            raise ValueError("D is an empty list: pass at least one (L, dim) tensor of document token vectors.")
        for i, v in enumerate(docs):
            check_tokens(v, f"D[{i}]")
            if v.shape[1] != Q.shape[-1]:
                raise ValueError(f"D[{i}] has dim {v.shape[1]} but the queries have dim {Q.shape[-1]}: same encoder?")
        checked = check_batches(Q, Q, q_mask)[0]  # Q must be a padded batch and q_mask fit it
        q_mask = None if q_mask is None else checked
        out = torch.empty((Q.shape[0], len(docs)), dtype=torch.float32, device=Q.device)
        start = 0
        while start < len(docs):  # documents concatenated (a copy) in groups of about _GROUP_BYTES
            end, size = start + 1, len(docs[start])
            while end < len(docs) and (size + len(docs[end])) * Q.shape[-1] * Q.element_size() <= _GROUP_BYTES:
                size, end = size + len(docs[end]), end + 1
            vectors = torch.cat([v.to(device=Q.device, dtype=Q.dtype) for v in docs[start:end]])
            out[:, start:end] = maxsim_flat(Q, vectors, torch.tensor([len(v) for v in docs[start:end]]), q_mask, chunk_bytes)
            start = end
        return out
    if dtype is not None:
        D = D.to(dtype)
    given_q, given_d = q_mask is not None, d_mask is not None
    q_mask, d_mask = check_batches(Q, D, q_mask, d_mask)
    nd, Ld, dim = D.shape
    vectors = D.reshape(nd * Ld, dim)  # every position, padded ones too; `rows` picks the real ones
    real = given_d and not bool(d_mask.all())
    return maxsim_flat(Q, vectors, d_mask.sum(dim=1) if real else torch.full((nd,), Ld),
                       q_mask if given_q else None, chunk_bytes,
                       rows=d_mask.reshape(-1).nonzero().squeeze(1) if real else None)


def maxsim_flat(
    Q: torch.Tensor,
    vectors: torch.Tensor,
    lengths: torch.Tensor | Sequence[int],
    q_mask: torch.Tensor | None = None,
    chunk_bytes: int | None = None,
    rows: torch.Tensor | None = None,
) -> torch.Tensor:
    """MaxSim of a batch of queries against documents stored flat, one after the other, as
    :class:`MaxSimIndex` stores them: nothing is padded.

    The similarities are computed block by block over the document tokens (about ``chunk_bytes`` of
    them at a time, the block cut wherever it ends, even inside a document), and each token's
    similarities go to its document's running best with ``scatter_reduce_(..., "amax")``: a document
    cut by a block's end keeps the max of both parts. The max is exact, so the scores equal
    :func:`lateint.similarity.maxsim`'s (the tests prove it). Padding costs work, and gathering each
    bucket of documents into a padded batch costs memory traffic: on an AMX Xeon in bf16 the two
    cost as much as the matrix product itself (``benchmarks/README.md``).

    Memory stays bounded however many queries and documents: queries go in batches of similar
    length, each cut to its own longest query and small enough that a block holds at least
    ``_BLOCK_ROWS`` document tokens; documents go in passes whose best matches (documents x query
    tokens) fit ``_BEST_BYTES``.

    Args:
        Q: queries, a padded batch ``(nq, Lq, dim)``.
        vectors: ``(T, dim)``, the documents' token vectors one after the other (same dtype as ``Q``),
            or, with ``rows``, any ``(N, dim)`` tensor holding them.
        lengths: ``(nd,)`` tokens of each document, summing to ``T`` (or to ``len(rows)``).
        q_mask: ``(nq, Lq)`` bool, True for real query tokens (default: all real).
        chunk_bytes: memory for one block of similarities, in bytes (default: 4 MiB in float32,
            8 MiB in bf16: the fastest on an AMX Xeon).
        rows: ``(T,)`` which rows of ``vectors`` are the documents' tokens, in order (a padded batch's
            real positions); each block gathers its rows into one reused buffer. Default: all of them.

    Returns:
        ``(nq, nd)`` float32 scores (the max in ``Q``'s dtype, the sum over query tokens in float32).
    """
    nq, Lq, dim = Q.shape
    check_same_dtype(Q, vectors)
    lengths = torch.as_tensor(lengths, device=vectors.device)
    total = vectors.shape[0] if rows is None else len(rows)
    if vectors.dim() != 2 or vectors.shape[1] != dim or int(lengths.sum()) != total:
        raise ValueError(f"vectors must be (sum of lengths, dim) = ({int(lengths.sum())}, {dim}), got "
                         f"{tuple(vectors.shape)}{'' if rows is None else f' with {total} rows'}: the documents' "
                         "token vectors one after the other.")
    if chunk_bytes is None:
        chunk_bytes = 8 * 2**20 if Q.dtype == torch.bfloat16 else 4 * 2**20
    doc_of_row = torch.repeat_interleave(torch.arange(len(lengths), device=vectors.device), lengths)  # (T,)
    first_row = torch.cat([lengths.new_zeros(1), lengths.cumsum(0)])  # where each document starts, (nd+1,)
    q_ends = torch.full((nq,), Lq) if q_mask is None else _ends(q_mask.cpu())
    order = torch.argsort(q_ends, descending=True, stable=True)
    out = torch.empty((nq, len(lengths)), dtype=torch.float32, device=Q.device)
    start = 0
    while start < nq:  # a batch of queries, longest first, cut to its longest
        L = max(1, int(q_ends[order[start]]))
        idx = order[start : start + max(1, chunk_bytes // (_BLOCK_ROWS * L * Q.element_size()))].to(Q.device)
        Qb, mb = Q.index_select(0, idx)[:, :L], None if q_mask is None else q_mask.index_select(0, idx)[:, :L]
        per_pass = max(1, _BEST_BYTES // (len(idx) * L * Q.element_size()))  # documents
        for d in range(0, len(lengths), per_pass):
            a, b = int(first_row[d]), int(first_row[min(d + per_pass, len(lengths))])
            out[idx, d : d + per_pass] = _flat_pass(Qb, mb, vectors, None if rows is None else rows[a:b], a,
                                                    doc_of_row[a:b] - d, min(per_pass, len(lengths) - d), chunk_bytes)
        start += len(idx)
    return out


def _flat_pass(Q, q_mask, vectors, rows, first_row: int, doc_of_row, n_docs: int, chunk_bytes: int) -> torch.Tensor:
    """One batch of queries ``Q (nq, L, dim)`` against ``n_docs`` documents whose tokens are ``doc_of_row``
    (their documents, 0-based) and rows ``first_row...`` of ``vectors`` (or ``rows`` of it): ``(nq, n_docs)``."""
    nq, L, dim = Q.shape
    columns = nq * L  # one per query token
    queries_T = Q.reshape(columns, dim).T.contiguous()  # (dim, nq*L); contiguous: the AMX product is faster
    best = Q.new_full((n_docs, columns), float("-inf"))  # each document's best match per query token
    block = max(1, chunk_bytes // (columns * Q.element_size()))  # document tokens per block
    n = len(doc_of_row)
    buffer = Q.new_empty((min(block, n), columns))
    gathered = None if rows is None else vectors.new_empty((min(block, n), dim))
    for s in range(0, n, block):
        ids = doc_of_row[s : s + block]
        if rows is None:
            tokens = vectors[first_row + s : first_row + s + len(ids)]
        else:
            tokens = torch.index_select(vectors, 0, rows[s : s + block], out=gathered[: len(ids)])
        _into_best(best, ids, torch.mm(tokens, queries_T, out=buffer[: len(ids)]))  # (block, nq*L)
    best = best.to(torch.float32).view(n_docs, nq, L)
    if q_mask is not None:  # a padded query token adds nothing (filled, not multiplied: 0 * -inf is nan)
        best.masked_fill_(~q_mask.to(best.device, torch.bool), 0.0)
    return best.sum(dim=2).T


def _into_best(best: torch.Tensor, ids: torch.Tensor, sim: torch.Tensor) -> None:
    """Each row of a block of similarities ``sim (rows, columns)`` into its document's running best:
    ``best[ids[r]] = max(best[ids[r]], sim[r])``, in place; ``ids (rows,)`` ascending documents."""
    first = int(ids[0])
    best[first : int(ids[-1]) + 1].scatter_reduce_(0, (ids - first).unsqueeze(1).expand_as(sim), sim, "amax")


_BLOCK_ROWS = 1024  # document tokens a block of similarities holds at least: queries are batched to fit
_BEST_BYTES = 32 * 2**20  # memory for one pass's best matches (documents x query tokens)
_GROUP_BYTES = 64 * 2**20  # maxsim_scores: memory for one group of a list's documents, concatenated


def _ends(mask: torch.Tensor) -> torch.Tensor:
    """One past the last real position of each row of a ``(n, L)`` mask: ``(n,)`` (0 for a row with none)."""
    return (mask * torch.arange(1, mask.shape[1] + 1, device=mask.device)).amax(dim=1)


class Index:
    """What every index shares: ``doc_ids`` in order, ``search`` / ``run`` / ``hits`` over a subclass's ``scores``."""

    kind = ""

    def __init__(self, doc_ids: Sequence[str]) -> None:
        self.doc_ids = [str(i) for i in doc_ids]
        if len(set(self.doc_ids)) != len(self.doc_ids):
            raise ValueError("doc_ids contain duplicates; every document needs its own id.")
        if not self.doc_ids:
            raise ValueError("Cannot build an index of zero documents.")

    def __len__(self) -> int:
        return len(self.doc_ids)

    def scores(self, queries) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def search(self, queries, k: int = 10) -> list[list[Hit]]:
        """Top-``k`` documents for each query, best first, as :class:`~lateint.metrics.Hit` ``(doc_id, score)``."""
        return self.hits(self.scores(queries), check_k(k))

    def run(self, queries, query_ids: Sequence[str], k: int = 100) -> Run:
        """:meth:`search` as a run ``{query id: {doc id: score}}``, for ``lateint.metrics``."""
        return run_from_hits(query_ids, self.search(queries, k))

    def hits(
        self, scores: torch.Tensor, k: int, positions: torch.Tensor | None = None
    ) -> list[list[Hit]]:
        """The best ``k`` of each row of ``scores`` ``(nq, n)``, as :class:`~lateint.metrics.Hit` s, best first.

        Column ``j`` of row ``i`` scores document ``positions[i, j]`` of this index (``positions``
        ``(nq, n)``, e.g. each query's candidates), or document ``j`` when ``positions`` is None.
        Equal scores are ordered by doc id, descending: the rule of ``lateint.metrics`` (:func:`top_k`).
        """
        return top_k(scores, self.doc_ids, k, positions)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the index to one safetensors file (atomically). Returns the path."""
        meta = {"kind": self.kind, "doc_ids": json.dumps(self.doc_ids)}
        return write_atomically(path, lambda tmp: save_file(self._tensors(), tmp, metadata=meta))

    def _tensors(self) -> dict[str, torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError


class MaxSimIndex(Index):
    """Every document's token vectors, scored against a query by MaxSim.

    Stored flat: ``vectors`` ``(total_tokens, dim)`` and ``lengths`` ``(nd,)``, and scored flat
    (:func:`maxsim_flat`): blocks of rows of ``vectors`` against every query token, each row's
    similarities to its own document's max, so no document is padded and no work is wasted.

    ``dtype``: how the vectors are stored and scored, ``torch.float32`` (default) or
    ``torch.bfloat16``: half the memory, and several times faster on a CPU with native bf16
    (see :func:`maxsim_scores` for the tolerance; slower than float32 on a CPU without it).
    Scores come back float32 either way.
    """

    kind = "maxsim"

    def __init__(self, doc_ids: Sequence[str], doc_vectors: Sequence[torch.Tensor],
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__(doc_ids)
        if dtype not in (torch.float32, torch.bfloat16):
            raise ValueError(f"dtype must be torch.float32 or torch.bfloat16, got {dtype!r}.")
        if len(doc_vectors) != len(self.doc_ids):
            raise ValueError(f"{len(self.doc_ids)} ids but {len(doc_vectors)} documents' vectors.")
        for i, v in enumerate(doc_vectors):
            if not isinstance(v, torch.Tensor) or v.dim() != 2 or v.shape[0] == 0 or v.shape[1] != doc_vectors[0].shape[1]:
                raise ValueError(
                    f"Document {i} must be a non-empty (L, dim) tensor with the same dim as the others, "
                    f"got {getattr(v, 'shape', type(v).__name__)}."
                )
        self.vectors = torch.cat([v.to(device="cpu", dtype=dtype) for v in doc_vectors])  # an index lives on the CPU
        self.lengths = torch.tensor([v.shape[0] for v in doc_vectors])

    @classmethod
    def from_texts(cls, encoder, doc_ids: Sequence[str], texts: Sequence[str], cache: bool = True, **kw):
        """Encode ``texts`` with ``encoder`` (through the embedding cache) and index them."""
        return cls(doc_ids, encode(encoder, texts, "documents", cache=cache, **kw))

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def documents(self) -> list[torch.Tensor]:
        """The documents' token matrices, ``(L_i, dim)`` each."""
        return list(torch.split(self.vectors, self.lengths.tolist()))

    def batch(self, positions: torch.Tensor) -> torch.Tensor:
        """The documents at ``positions`` as one batch ``(c, L, dim)``, ``L`` their longest length.

        Token ``j`` of document ``i`` is its row ``min(j, L_i - 1)``: a shorter document is
        padded by repeating its last token. A repeated token never changes a max, so
        MaxSim needs no mask for this batch.
        """
        lengths = self.lengths[positions]
        first_row = self.lengths.cumsum(0)[positions] - lengths  # where each document starts in self.vectors
        position = torch.arange(int(lengths.max())).minimum(lengths.unsqueeze(1) - 1)  # (c, L)
        rows = (first_row.unsqueeze(1) + position).view(-1)  # (c*L,)
        return self.vectors.index_select(0, rows).view(*position.shape, self.dim)

    def scores(self, queries: Sequence[torch.Tensor]) -> torch.Tensor:
        """MaxSim of each query (``(Lq_i, dim)`` tensors) against every document: ``(nq, nd)``,
        by :func:`maxsim_flat` over the flat storage (queries in batches of similar length)."""
        queries = list(queries)
        if not queries:
            raise ValueError("No queries: pass a list of (Lq, dim) tensors, one per query.")
        Q, q_mask = pad(queries)
        if Q.shape[-1] != self.dim:
            raise ValueError(f"Queries have dim {Q.shape[-1]} but the index holds dim {self.dim}: same encoder?")
        return maxsim_flat(Q.to(device=self.vectors.device, dtype=self.vectors.dtype), self.vectors, self.lengths,
                           q_mask.to(self.vectors.device))

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {"vectors": self.vectors.contiguous(), "lengths": self.lengths}


class PooledIndex(Index):
    """One vector per document ``(nd, dim)``, scored by cosine similarity."""

    kind = "pooled"

    def __init__(self, doc_ids: Sequence[str], vectors: torch.Tensor) -> None:
        super().__init__(doc_ids)
        if not isinstance(vectors, torch.Tensor) or vectors.dim() != 2 or vectors.shape[0] != len(self.doc_ids):
            raise ValueError(
                f"vectors must be a (n_docs, dim) tensor with one row per id ({len(self.doc_ids)}), "
                f"got {getattr(vectors, 'shape', type(vectors).__name__)}."
            )
        self.vectors = vectors.float().cpu()  # an index lives on the CPU

    @classmethod
    def from_texts(cls, encoder, doc_ids: Sequence[str], texts: Sequence[str], cache: bool = True, **kw):
        """Encode ``texts`` into pooled vectors (through the embedding cache) and index them."""
        return cls(doc_ids, encode(encoder, texts, "pooled", cache=cache, **kw))

    def scores(self, queries: torch.Tensor) -> torch.Tensor:
        """Cosine of each pooled query ``(nq, dim)`` with every document: ``(nq, nd)``, on the CPU."""
        return cosine_scores(queries.cpu() if isinstance(queries, torch.Tensor) else queries, self.vectors)

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {"vectors": self.vectors.contiguous()}


def load_index(path: str | os.PathLike) -> "MaxSimIndex | PooledIndex | ChunkIndex":
    """Read an index written by ``save()``: a :class:`MaxSimIndex`, :class:`PooledIndex` or
    :class:`lateint.chunking.ChunkIndex` (chunk texts and positions included)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No index file at {path}; build one and call .save({str(path)!r}) first.")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    kind = meta.get("kind")
    if kind not in ("maxsim", "pooled", "chunks") or "doc_ids" not in meta:
        raise ValueError(f"{path} is not a lateint index file (no 'kind'/'doc_ids' metadata).")
    ids = json.loads(meta["doc_ids"])
    if kind == "chunks":
        from .chunking import ChunkIndex  # chunking builds on this module

        return ChunkIndex.from_tensors(ids, tensors)
    if kind == "pooled":
        return PooledIndex(ids, tensors["vectors"])
    vectors = tensors["vectors"]
    return MaxSimIndex(ids, list(torch.split(vectors, tensors["lengths"].tolist())),
                       dtype=torch.bfloat16 if vectors.dtype == torch.bfloat16 else torch.float32)
