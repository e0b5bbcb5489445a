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
from .similarity import check_batches, check_tokens, cosine_scores, pad

if TYPE_CHECKING:
    from .chunking import ChunkIndex

__all__ = ["maxsim_scores", "length_groups", "MaxSimIndex", "PooledIndex", "load_index"]


def maxsim_scores(
    Q: torch.Tensor,
    D: torch.Tensor,
    q_mask: torch.Tensor | None = None,
    d_mask: torch.Tensor | None = None,
    chunk_bytes: int = 4 * 2**20,
    pad_bytes: int = 64 * 2**20,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """MaxSim of every query against every document: the fast kernel the indexes use.

    Same number as :func:`lateint.similarity.maxsim` for each pair and as the readable
    :func:`lateint.similarity.maxsim_batch` for a batch (the tests prove it), computed as one matrix product
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

    A document longer than one similarity block allows is taken in slices of its tokens (the max
    over a document is the max of its slices' maxima), so no block exceeds ``chunk_bytes`` however
    long the document.

    Args:
        Q: queries, a padded batch ``(nq, Lq, dim)``, or a list of ``(Lq_i, dim)`` tensors
            (padded here, with their mask).
        D: documents, ``(nd, Ld, dim)`` (same dtype as ``Q``) or a list of ``(Ld_i, dim)`` tensors.
            A list is scored in groups of similar length (:func:`length_groups`), each padded only
            to its own longest document and at most ``pad_bytes`` big: one very long document does
            not make every short one as long.
        q_mask: ``(nq, Lq)``, True (or 1) for real query tokens (default: all real).
        d_mask: ``(nd, Ld)``, True (or 1) for real document tokens (default: all real).
        chunk_bytes: memory budget for one similarity block, in bytes.
        pad_bytes: memory budget for one padded group of documents (a list ``D`` only), in bytes.
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
        return _scores_by_length(Q, q_mask, D, chunk_bytes, pad_bytes, dtype)
    if dtype is not None:
        D = D.to(dtype)
    given_q, given_d = q_mask is not None, d_mask is not None
    q_mask, d_mask = check_batches(Q, D, q_mask, d_mask)
    q_mask = q_mask if given_q else None  # all real: no masking work
    d_mask = d_mask if given_d else None
    nq, Lq, dim = Q.shape
    nd, Ld, _ = D.shape
    # Many queries at once: a block of the similarities of every query token would hold too few document
    # rows (with 300 queries of 64 tokens, 54 rows: every abstract taken slice by slice). Queries are then
    # scored in batches small enough that a block holds a document of up to _BLOCK_ROWS tokens, longest
    # queries first, each batch cut to its own longest query (padding is work: SciFact's claims average 23
    # of their longest's 64 tokens).
    rows = min(Ld, _BLOCK_ROWS)
    if nq > 1 and nq * Lq * rows * Q.element_size() > chunk_bytes:
        return _scores_in_query_batches(Q, D, q_mask, d_mask, chunk_bytes, rows)
    out = torch.empty((nq, nd), dtype=torch.float32, device=Q.device)
    if nd == 0 or nq == 0:
        return out
    if d_mask is None:
        order, ends = None, None
    else:
        # one past each document's last real token; longest documents first
        ends = _ends(d_mask)
        order = torch.argsort(ends, descending=True)
    queries_T = Q.reshape(nq * Lq, dim).T  # (dim, nq*Lq): every query token is a column
    row_bytes = nq * Lq * Q.element_size()  # one document token's similarities
    buffer = Q.new_empty((min(nd * Ld, max(1, chunk_bytes // row_bytes)), nq * Lq))
    start = 0
    while start < nd:
        L = Ld if order is None else max(1, int(ends[order[start]]))  # the chunk's longest document
        c = max(1, chunk_bytes // (L * row_bytes))  # documents in this chunk
        if order is None:
            idx = slice(start, start + c)
            Dc = D[idx]  # (c, L, dim), a view
        else:
            idx = order[start : start + c]
            Dc = D[:, :L].index_select(0, idx)  # (c, L, dim), gathered (index_select: far faster than D[idx, :L])
        c = Dc.shape[0]
        if c * L > buffer.shape[0]:  # one document longer than a block: its tokens slice by slice
            rows_mask = None if d_mask is None else d_mask[:, :L].index_select(0, idx).reshape(-1)
            best = _best_by_slices(Dc.reshape(L, dim), rows_mask, queries_T, buffer).view(1, nq, Lq)
            if q_mask is not None:
                best = torch.where(q_mask, best, torch.zeros((), dtype=best.dtype))
            out[:, idx] = best.sum(dim=2).T
            start += c
            continue
        sim = torch.mm(Dc.reshape(c * L, dim), queries_T, out=buffer[: c * L])  # (c*L, nq*Lq)
        if d_mask is not None:
            padded_rows = (~d_mask[:, :L].index_select(0, idx)).reshape(-1).nonzero().squeeze(1)
            sim.index_fill_(0, padded_rows, float("-inf"))
        best = column_max(sim.view(c, L, nq * Lq)).view(c, nq, Lq)  # best match per query token, float32
        if q_mask is not None:
            # where=... rather than a product: 0 * -inf would be nan for a document with no real token
            best = torch.where(q_mask, best, torch.zeros((), dtype=best.dtype))
        out[:, idx] = best.sum(dim=2).T
        start += c
    return out


def _scores_in_query_batches(Q, D, q_mask, d_mask, chunk_bytes: int, rows: int) -> torch.Tensor:
    """:func:`maxsim_scores` for queries in batches whose block of ``rows`` document tokens fits ``chunk_bytes``."""
    nq, Lq, _ = Q.shape
    lengths = torch.full((nq,), Lq) if q_mask is None else _ends(q_mask)
    order = torch.argsort(lengths.cpu(), descending=True, stable=True)
    out = torch.empty((nq, D.shape[0]), dtype=torch.float32, device=Q.device)
    start = 0
    while start < nq:
        L = max(1, int(lengths[order[start]]))  # the batch's longest query
        idx = order[start : start + max(1, chunk_bytes // (rows * L * Q.element_size()))].to(Q.device)
        out[idx] = maxsim_scores(Q.index_select(0, idx)[:, :L], D,
                                 None if q_mask is None else q_mask.index_select(0, idx)[:, :L], d_mask, chunk_bytes)
        start += len(idx)
    return out


_BLOCK_ROWS = 1024  # document tokens a similarity block holds at least, when queries are split to fit


def _ends(mask: torch.Tensor) -> torch.Tensor:
    """One past the last real position of each row of a ``(n, L)`` mask: ``(n,)`` (0 for a row with none)."""
    return (mask * torch.arange(1, mask.shape[1] + 1, device=mask.device)).amax(dim=1)


def _best_by_slices(d: torch.Tensor, mask: torch.Tensor | None, queries_T: torch.Tensor, buffer: torch.Tensor) -> torch.Tensor:
    """Best match of every query token in one long document ``d`` ``(L, dim)``, ``buffer.shape[0]`` of its
    rows at a time: ``(nq*Lq,)`` float32. ``mask`` ``(L,)``: True for real rows."""
    rows = buffer.shape[0]
    best = torch.full((queries_T.shape[1],), float("-inf"), device=queries_T.device)
    for r in range(0, d.shape[0], rows):
        sim = torch.mm(d[r : r + rows], queries_T, out=buffer[: min(rows, d.shape[0] - r)])
        if mask is not None:
            sim.index_fill_(0, (~mask[r : r + rows]).nonzero().squeeze(1), float("-inf"))
        best = torch.maximum(best, column_max(sim.unsqueeze(0))[0])
    return best


def column_max(sim: torch.Tensor) -> torch.Tensor:
    """``sim.amax(dim=1)`` as float32: ``(c, L, n) -> (c, n)``, the best of each column of ``L`` rows.

    bf16 takes a shortcut: torch's bf16 max converts every element to float32 and can take as long
    as the (AMX) matrix product before it, so the max is taken over the bits seen as int16 instead,
    about ten times faster (``benchmarks/README.md``). For numbers >= 0 (sign bit clear) the bits
    of a bf16 sort as their values; any number < 0 has its sign bit set and is a negative int16,
    below them all. So where the int16 max is >= 0,
    it IS the largest value. A column whose values are all < 0 (or -0.0, or padding's -inf) gets a
    negative int16 max that may be wrong; when any column does, the block is redone with the plain max.
    """
    if sim.dtype != torch.bfloat16:
        return sim.amax(dim=1).to(torch.float32)
    best = sim.view(torch.int16).amax(dim=1)
    if bool((best < 0).any()):  # some column is all negative: the bit order does not hold there
        return sim.amax(dim=1).to(torch.float32)
    return best.view(torch.bfloat16).to(torch.float32)


def length_groups(lengths: Sequence[int], dim: int, pad_bytes: int, element_size: int = 4) -> list[list[int]]:
    """Documents grouped for padding: positions, longest first, cut into groups whose padded batch
    ``(group size, its longest length, dim)`` stays within ``pad_bytes`` (a document bigger than that
    alone makes a group of one: its own vectors, never padded)."""
    if pad_bytes < 1:
        raise ValueError(f"pad_bytes must be a positive number of bytes, got {pad_bytes}.")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and (len(groups[-1]) + 1) * lengths[groups[-1][0]] * dim * element_size <= pad_bytes:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _scores_by_length(Q, q_mask, docs: Sequence[torch.Tensor], chunk_bytes: int, pad_bytes: int,
                      dtype: torch.dtype | None) -> torch.Tensor:
    """:func:`maxsim_scores` for a list of documents: each length group padded and scored on its own."""
    if len(docs) == 0:
        raise ValueError("D is an empty list: pass at least one (L, dim) tensor of document token vectors.")
    for i, v in enumerate(docs):
        check_tokens(v, f"D[{i}]")
    out = torch.empty((Q.shape[0], len(docs)), dtype=torch.float32)
    for group in length_groups([len(v) for v in docs], docs[0].shape[1], pad_bytes, docs[0].element_size()):
        D, d_mask = pad([docs[i] for i in group])
        out[:, group] = maxsim_scores(Q, D, q_mask, d_mask if len(group) > 1 else None, chunk_bytes, dtype=dtype)
    return out


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

    Stored flat: ``vectors`` ``(total_tokens, dim)`` and ``lengths`` ``(nd,)``.
    Scoring takes documents in buckets of ``bucket`` documents of similar length and
    pads each bucket only to its own longest document, so little work is wasted.

    ``dtype``: how the vectors are stored and scored, ``torch.float32`` (default) or
    ``torch.bfloat16``: half the memory, and several times faster on a CPU with native bf16
    (see :func:`maxsim_scores` for the tolerance; slower than float32 on a CPU without it).
    Scores come back float32 either way.
    """

    kind = "maxsim"

    def __init__(self, doc_ids: Sequence[str], doc_vectors: Sequence[torch.Tensor], bucket: int = 64,
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
        self.bucket = bucket

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
        """MaxSim of each query (``(Lq_i, dim)`` tensors) against every document: ``(nq, nd)``.

        Queries, like documents, are taken in groups of similar length, so that short
        queries are not padded to the longest one.
        """
        queries = list(queries)
        if not queries:
            raise ValueError("No queries: pass a list of (Lq, dim) tensors, one per query.")
        by_length = torch.argsort(torch.tensor([len(q) for q in queries]))
        groups = [by_length[s : s + self.bucket] for s in range(0, len(queries), self.bucket)]
        padded = []  # (Q, q_mask) of each group
        for g in groups:
            Q, q_mask = pad([queries[i] for i in g.tolist()])
            if Q.shape[-1] != self.dim:
                raise ValueError(f"Queries have dim {Q.shape[-1]} but the index holds dim {self.dim}: same encoder?")
            padded.append((Q.to(device=self.vectors.device, dtype=self.vectors.dtype), q_mask.cpu()))
        order = torch.argsort(self.lengths, descending=True)
        out = torch.empty((len(queries), len(self)), dtype=torch.float32)
        for start in range(0, len(order), self.bucket):
            idx = order[start : start + self.bucket]  # documents of similar length
            D = self.batch(idx)
            for g, (Q, q_mask) in zip(groups, padded):
                out[g.unsqueeze(1), idx.unsqueeze(0)] = maxsim_scores(Q, D, q_mask)
        return out

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
