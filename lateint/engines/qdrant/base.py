"""What both Qdrant backends share: point ids, checking input, uploading in batches, searching, runs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch

from ...metrics import Hit, Run, check_k, run_from_hits
from .capacity import check_storage

__all__ = ["TOKENS", "POOLED", "point_id", "UploadInterrupted", "Request", "MaxSimEngine", "as_matrix"]

TOKENS, POOLED = "tokens", "pooled"  # the names of the two vectors of a point
_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/lateint/lateint")


def point_id(doc_id: str) -> str:
    """The point id of a document: a UUID derived from its id, so re-uploading a document overwrites it."""
    return str(uuid.uuid5(_IDS, str(doc_id)))


class UploadInterrupted(RuntimeError):
    """An upload stopped part-way. ``landed``: documents of this upload the engine acknowledged."""

    def __init__(self, landed: int, total: int, in_collection: int | None, cause: BaseException) -> None:
        self.landed, self.total, self.in_collection = landed, total, in_collection
        now = "unknown (the engine did not answer)" if in_collection is None else f"{in_collection:,}"
        super().__init__(
            f"Upload interrupted: {landed:,} of {total:,} documents landed before it stopped "
            f"({type(cause).__name__}: {cause}). The collection now holds {now} points. Call upload() again "
            "with the same documents to finish: points are keyed by document id, so those that landed are "
            "overwritten, not duplicated."
        )


class Request(NamedTuple):
    """One query for a backend: token vectors ``(Lq, dim)`` as lists, optionally a pooled vector."""

    tokens: list[list[float]]
    pooled: list[float] | None
    k: int
    n_candidates: int
    exact: bool
    rescore: bool | None


class MaxSimEngine:
    """What both backends share: checking input, uploading in batches, turning answers into hits."""

    where = ""

    def __init__(self, dim: int, storage: str, pooled: bool, on_disk: bool) -> None:
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise ValueError(f"dim must be a positive whole number (the encoder's vector size), got {dim!r}.")
        check_storage(storage)
        self.dim, self.storage, self.pooled, self.on_disk = dim, storage, bool(pooled), bool(on_disk)

    # ---------------------------------------------------------------- what a backend provides

    def _upsert(self, points: list[tuple[str, dict[str, list], dict]]) -> None:  # pragma: no cover - abstract
        """Write ``(point id, {vector name: vector}, payload)`` points, waiting until they are stored."""
        raise NotImplementedError

    def _query(self, requests: list[Request]) -> list[list[Hit]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def count(self) -> int:  # pragma: no cover - abstract
        """Points in the collection."""
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - abstract
        """Release the engine (a local folder can then be opened again)."""
        raise NotImplementedError

    def _finish_upload(self) -> None:
        """Called after the last batch (Edge builds its quantised copy here)."""

    # ---------------------------------------------------------------- shared

    def __len__(self) -> int:
        return self.count()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        extra = " + pooled" if self.pooled else ""
        return f"{type(self).__name__}({self.where}, dim {self.dim}, {self.storage}{extra}, {self.count():,} points)"

    def upload(
        self,
        doc_ids: Sequence[str],
        token_vectors: Sequence[torch.Tensor | np.ndarray],
        pooled: torch.Tensor | np.ndarray | None = None,
        payloads: Sequence[Mapping] | None = None,
        batch_size: int = 32,
        show_progress: bool | None = None,
    ) -> int:
        """Store documents: one point each, in batches of ``batch_size`` documents.

        Args:
            doc_ids: one id per document (strings; unique).
            token_vectors: each document's ``(L_i, dim)`` token vectors, ``L_i >= 1``.
            pooled: ``(n_docs, dim)`` pooled vectors; required when the index was made with ``pooled=True``.
            payloads: optional dicts stored with each point (e.g. ``{"title": ...}``); ``"doc_id"`` is added.
            show_progress: a progress bar (default: for 1,000+ documents).

        Every input is checked before the first write, so bad input never leaves a partial upload.
        If the engine fails part-way, :class:`UploadInterrupted` says how many documents landed.

        Returns:
            The number of documents uploaded.
        """
        ids, docs, pooled_rows, extra = self._check_upload(doc_ids, token_vectors, pooled, payloads)
        from tqdm.auto import tqdm

        show = len(ids) >= 1000 if show_progress is None else show_progress
        landed = 0
        with tqdm(total=len(ids), desc=f"uploading to {type(self).__name__}", unit="doc", disable=not show) as bar:
            for start in range(0, len(ids), batch_size):
                batch = range(start, min(start + batch_size, len(ids)))
                points = []
                for i in batch:
                    vectors = {TOKENS: docs[i].tolist()}
                    if pooled_rows is not None:
                        vectors[POOLED] = pooled_rows[i].tolist()
                    points.append((point_id(ids[i]), vectors, {**extra[i], "doc_id": ids[i]}))
                try:
                    self._upsert(points)
                except (Exception, KeyboardInterrupt) as e:  # an engine error, or the learner pressing stop
                    raise UploadInterrupted(landed, len(ids), self._count_or_none(), e) from e
                landed += len(batch)
                bar.update(len(batch))
        self._finish_upload()
        return landed

    def search(
        self, queries: Sequence[torch.Tensor | np.ndarray], k: int = 10, exact: bool = False, rescore: bool | None = None
    ) -> list[list[Hit]]:
        """Top ``k`` documents by MaxSim for each query (``(Lq_i, dim)`` token vectors), best first.

        ``exact`` asks the engine to scan instead of using an approximate index; ``rescore`` (quantised
        storage) re-scores the quantised search's hits with the float32 originals (None: engine default).
        """
        check_k(k)
        requests = [Request(q.tolist(), None, k, k, exact, rescore) for q in self._check_queries(queries)]
        return self._query(requests)

    def run(self, queries: Sequence[torch.Tensor | np.ndarray], query_ids: Sequence[str], k: int = 100,
            exact: bool = False, rescore: bool | None = None) -> Run:
        """:meth:`search` as a run ``{query id: {doc id: score}}`` for ``lateint.metrics``, as the in-memory indexes give."""
        if len(query_ids) != len(queries):
            raise ValueError(f"{len(query_ids)} query ids for {len(queries)} queries: pass one id per query, in order.")
        return run_from_hits(query_ids, self.search(queries, k, exact=exact, rescore=rescore))

    def two_stage_search(
        self,
        pooled_queries: torch.Tensor | np.ndarray,
        token_queries: Sequence[torch.Tensor | np.ndarray],
        k: int = 10,
        n_candidates: int = 100,
        exact: bool = True,
        rescore: bool | None = None,
    ) -> list[list[Hit]]:
        """Top ``k`` by MaxSim among the top ``n_candidates`` by pooled cosine, in one Qdrant query (a prefetch).

        The same answer as :func:`lateint.rerank.two_stage_search` (when ``exact``: candidates by an exact scan
        of the pooled vectors rather than the approximate HNSW index a large collection would use).
        """
        if not self.pooled:
            raise ValueError(f"{self!r} has no pooled vectors: make it with pooled=True and upload pooled= vectors.")
        tokens = self._check_queries(token_queries)
        pooled_rows = as_matrix(pooled_queries, "pooled_queries")
        if len(pooled_rows) != len(tokens) or pooled_rows.shape[1] != self.dim:
            raise ValueError(
                f"pooled_queries must be ({len(tokens)}, {self.dim}): one pooled vector per token query, "
                f"got {tuple(pooled_rows.shape)}."
            )
        check_k(k)
        if k > n_candidates:
            raise ValueError(f"Need 1 <= k <= n_candidates, got k={k}, n_candidates={n_candidates}.")
        requests = [Request(t.tolist(), p.tolist(), k, n_candidates, exact, rescore) for t, p in zip(tokens, pooled_rows)]
        return self._query(requests)

    def _count_or_none(self) -> int | None:
        try:
            return self.count()
        except Exception:  # the engine that just failed may not answer either
            return None

    def _check_upload(self, doc_ids, token_vectors, pooled, payloads):
        ids = [str(i) for i in doc_ids]
        if not ids:
            raise ValueError("No documents to upload: pass at least one id and its token vectors.")
        if len(set(ids)) != len(ids):
            raise ValueError("doc_ids contain duplicates; every document needs its own id.")
        if len(token_vectors) != len(ids):
            raise ValueError(f"{len(ids)} ids but {len(token_vectors)} documents' token vectors.")
        docs = []
        for doc_id, v in zip(ids, token_vectors):
            m = as_matrix(v, f"the token vectors of document {doc_id!r}")
            if m.shape[0] == 0:
                raise ValueError(f"Document {doc_id!r} has no token vectors (an empty text?): a point needs at least one.")
            if m.shape[1] != self.dim:
                raise ValueError(
                    f"Document {doc_id!r} has vectors of dim {m.shape[1]} but {self.where} holds dim {self.dim}: "
                    "same encoder?"
                )
            docs.append(m)
        pooled_rows = None
        if self.pooled:
            if pooled is None:
                raise ValueError(f"{self.where} stores pooled vectors too: pass pooled=, one (dim,) row per document.")
            pooled_rows = as_matrix(pooled, "pooled")
            if pooled_rows.shape != (len(ids), self.dim):
                raise ValueError(f"pooled must be ({len(ids)}, {self.dim}), got {tuple(pooled_rows.shape)}.")
        elif pooled is not None:
            raise ValueError(f"{self.where} was made without pooled vectors (pooled=False); leave pooled= out.")
        extra = [{} for _ in ids] if payloads is None else [dict(p) for p in payloads]
        if len(extra) != len(ids):
            raise ValueError(f"{len(ids)} ids but {len(extra)} payloads.")
        if any("doc_id" in p for p in extra):
            raise ValueError("Payloads must not hold 'doc_id': the index stores each document's id there itself.")
        return ids, docs, pooled_rows, extra

    def _check_queries(self, queries) -> list[np.ndarray]:
        if isinstance(queries, (torch.Tensor, np.ndarray)) or len(queries) == 0:
            raise ValueError("queries must be a non-empty list of (Lq, dim) token matrices, one per query.")
        out = []
        for i, q in enumerate(queries):
            m = as_matrix(q, f"query {i}")
            if m.shape[0] == 0:
                raise ValueError(f"Query {i} has no token vectors: encode a non-empty text.")
            if m.shape[1] != self.dim:
                raise ValueError(f"Query {i} has dim {m.shape[1]} but {self.where} holds dim {self.dim}: same encoder?")
            out.append(m)
        return out


def as_matrix(v, what: str) -> np.ndarray:
    """``v`` as a 2-D float32 numpy array (from a tensor or an array)."""
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().float().numpy()
    if not isinstance(v, np.ndarray) or v.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (rows, dim) tensor or array, got {getattr(v, 'shape', type(v).__name__)}.")
    return v.astype(np.float32, copy=False)
