"""MaxSim in Qdrant: the search of :class:`lateint.index.MaxSimIndex`, in an engine that scales out.

Qdrant stores each document as one *point*: its token vectors as one multi-vector, compared with
a query's token vectors by MaxSim (the same sum of best matches as :func:`lateint.similarity.maxsim`),
its pooled vector as a second, named vector, and a payload (here the document id and anything
you add). Two classes, one interface::

    from lateint.engines.qdrant import EdgeIndex, QdrantIndex

    index = QdrantIndex("scifact", ":memory:", dim=384)      # or a folder, or "http://localhost:6333"
    index = EdgeIndex("scifact-shard/", dim=384)               # Qdrant Edge: the engine inside this process
    index.upload(ds.doc_ids, docs["tokens"], pooled=docs["pooled"])
    index.search(queries["tokens"], k=10)                      # [[(doc_id, score), ...] per query]
    index.two_stage_search(queries["pooled"], queries["tokens"], k=10, n_candidates=100)

- :class:`QdrantIndex` speaks ``qdrant-client``: ``":memory:"`` or a folder run its *local mode*
  (the client's own pure-Python implementation of the API, for tests and notebooks), an
  ``http(s)://`` URL talks to a Qdrant server or cluster, with the same calls.
- :class:`EdgeIndex` runs Qdrant Edge (``qdrant-edge-py``): Qdrant's own Rust engine as a library,
  one shard in a folder. Its storage settings (float16, int8 or binary quantisation) really
  change the stored vectors; the client's local mode accepts them but scores in float32.

Both return what ``MaxSimIndex.search`` and ``lateint.rerank.two_stage_search`` return:
for each query, ``(doc_id, score)`` pairs, best first. ``tests/test_qdrant.py`` checks the scores
equal lateint's brute force; lesson 08 and ``benchmarks/qdrant.py`` use them.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ..metrics import Hit, Run, check_k, run_from_hits

__all__ = [
    "STORAGES",
    "QDRANT_OVERHEAD",
    "QdrantIndex",
    "EdgeIndex",
    "UploadInterrupted",
    "bytes_per_point",
    "point_id",
]

STORAGES = ("float32", "float16", "int8", "binary")
"""How token vectors are stored: 4 or 2 bytes per number, or a quantised copy (1 byte or 1 bit per number)
searched first, with the float32 originals kept for re-scoring."""

QDRANT_OVERHEAD = 1.5
"""Qdrant's capacity-planning rule: vectors x 1.5 for metadata, indexes and optimisation
(https://qdrant.tech/documentation/guides/capacity-planning/)."""

TOKENS, POOLED = "tokens", "pooled"  # the names of the two vectors of a point
_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/lateint/lateint")


def point_id(doc_id: str) -> str:
    """The point id of a document: a UUID derived from its id, so re-uploading a document overwrites it."""
    return str(uuid.uuid5(_IDS, str(doc_id)))


def bytes_per_point(n_vectors: float, dim: int, storage: str = "float32", on_disk: bool = False) -> dict[str, float]:
    """Bytes that ``n_vectors`` vectors of ``dim`` numbers take in Qdrant, split into RAM and disk.

    ``float32`` / ``float16``: 4 or 2 bytes per number, in RAM, or on disk (read through the page cache)
    with ``on_disk``. ``int8`` / ``binary``: a quantised copy in RAM (1 byte, or 1 bit, per number) that
    search scans, plus the float32 originals for re-scoring, in RAM or on disk. Vectors only: multiply
    by :data:`QDRANT_OVERHEAD` for Qdrant's own estimate of a collection's needs.

    Returns:
        ``{"ram": bytes, "disk": bytes}``.
    """
    _check_storage(storage)
    numbers = n_vectors * dim
    if storage in ("float32", "float16"):
        size = numbers * (4 if storage == "float32" else 2)
        return {"ram": 0.0 if on_disk else size, "disk": size if on_disk else 0.0}
    quantised = numbers if storage == "int8" else n_vectors * math.ceil(dim / 8)
    originals = numbers * 4
    return {"ram": quantised + (0.0 if on_disk else originals), "disk": originals if on_disk else 0.0}


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


class _Request(NamedTuple):
    """One query for a backend: token vectors ``(Lq, dim)`` as lists, optionally a pooled vector."""

    tokens: list[list[float]]
    pooled: list[float] | None
    k: int
    n_candidates: int
    exact: bool
    rescore: bool | None


class _MaxSimEngine:
    """What both backends share: checking input, uploading in batches, turning answers into hits."""

    where = ""

    def __init__(self, dim: int, storage: str, pooled: bool, on_disk: bool) -> None:
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise ValueError(f"dim must be a positive whole number (the encoder's vector size), got {dim!r}.")
        _check_storage(storage)
        self.dim, self.storage, self.pooled, self.on_disk = dim, storage, bool(pooled), bool(on_disk)

    # ---------------------------------------------------------------- what a backend provides

    def _upsert(self, points: list[tuple[str, dict[str, list], dict]]) -> None:  # pragma: no cover - abstract
        """Write ``(point id, {vector name: vector}, payload)`` points, waiting until they are stored."""
        raise NotImplementedError

    def _query(self, requests: list[_Request]) -> list[list[Hit]]:  # pragma: no cover - abstract
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
        requests = [_Request(q.tolist(), None, k, k, exact, rescore) for q in self._check_queries(queries)]
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
        pooled_rows = _matrix(pooled_queries, "pooled_queries")
        if len(pooled_rows) != len(tokens) or pooled_rows.shape[1] != self.dim:
            raise ValueError(
                f"pooled_queries must be ({len(tokens)}, {self.dim}): one pooled vector per token query, "
                f"got {tuple(pooled_rows.shape)}."
            )
        check_k(k)
        if k > n_candidates:
            raise ValueError(f"Need 1 <= k <= n_candidates, got k={k}, n_candidates={n_candidates}.")
        requests = [_Request(t.tolist(), p.tolist(), k, n_candidates, exact, rescore) for t, p in zip(tokens, pooled_rows)]
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
            m = _matrix(v, f"the token vectors of document {doc_id!r}")
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
            pooled_rows = _matrix(pooled, "pooled")
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
            m = _matrix(q, f"query {i}")
            if m.shape[0] == 0:
                raise ValueError(f"Query {i} has no token vectors: encode a non-empty text.")
            if m.shape[1] != self.dim:
                raise ValueError(f"Query {i} has dim {m.shape[1]} but {self.where} holds dim {self.dim}: same encoder?")
            out.append(m)
        return out


class QdrantIndex(_MaxSimEngine):
    """A Qdrant collection of documents' token vectors, through ``qdrant-client``.

    Args:
        collection: the collection's name.
        location: ``":memory:"``, a folder (both: the client's local mode, in this process), an
            ``http(s)://`` URL of a Qdrant server or cluster, or a ``QdrantClient`` you configured.
        dim: the encoder's vector size.
        storage: one of :data:`STORAGES` (a server honours it; local mode scores in float32 whatever it says).
        pooled: also store one pooled vector per document (cosine), for :meth:`two_stage_search`.
        on_disk: keep the float32 token vectors on disk (memory-mapped) instead of in RAM.
        timeout: seconds to wait for a server.
        shard_number, replication_factor: for a new collection on a cluster, how many shards to split
            it into and how many copies of each to keep (server defaults when None; local mode ignores them).

    An existing collection is opened if its configuration is the one asked for; otherwise a
    ``ValueError`` says what differs. The token vectors get no HNSW graph (``m=0``), as Qdrant
    advises for multi-vectors: MaxSim scans them, exactly like lateint's brute force, and a large
    collection narrows the scan with pooled candidates first.
    """

    def __init__(
        self,
        collection: str,
        location: str | os.PathLike | object = ":memory:",
        dim: int = 384,
        storage: str = "float32",
        pooled: bool = True,
        on_disk: bool = False,
        timeout: float = 10.0,
        shard_number: int | None = None,
        replication_factor: int | None = None,
    ) -> None:
        from qdrant_client import QdrantClient
        from qdrant_client.http.exceptions import ResponseHandlingException
        from qdrant_client.local.qdrant_local import QdrantLocal

        super().__init__(dim, storage, pooled, on_disk)
        self.collection = collection
        if isinstance(location, QdrantClient):
            self.client, url = location, None
        else:
            url = str(location) if str(location).startswith(("http://", "https://")) else None
            if url is not None:
                # no version check: it only warns, and an unreachable server gets a clear error below
                self.client = QdrantClient(url=url, timeout=timeout, check_compatibility=False)
            elif str(location) == ":memory:":
                self.client = QdrantClient(location=":memory:")
            else:
                self.client = QdrantClient(path=os.fspath(location))
        self.where = f"collection {collection!r} at {url or location}"
        # local mode always scans every point, exactly, and warns about search parameters: pass none
        self._local = isinstance(getattr(self.client, "_client", None), QdrantLocal)
        try:
            exists = self.client.collection_exists(collection)
        except (ResponseHandlingException, OSError) as e:
            raise ConnectionError(
                f"Cannot reach a Qdrant server at {url or location} ({e}). Start one (see the README's "
                "'Production: Qdrant': docker run -p 6333:6333 qdrant/qdrant), check the URL and port, "
                "or pass a folder or ':memory:' to run Qdrant inside this process."
            ) from e
        wanted = self._vectors_config()
        if exists:
            found = self.client.get_collection(collection).config.params.vectors
            found = found if isinstance(found, dict) else {"": found}
            if _describe_client(found) != _describe_client(wanted):
                raise ValueError(
                    f"The {self.where} exists with another configuration: it holds {_describe_client(found)}; "
                    f"you asked for {_describe_client(wanted)}. Open it with the settings it was made with, "
                    "choose another collection name, or delete it first (client.delete_collection)."
                )
        else:
            self.client.create_collection(
                collection, vectors_config=wanted, shard_number=shard_number, replication_factor=replication_factor
            )

    def _vectors_config(self) -> dict:
        from qdrant_client import models

        quantization = {
            "int8": models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True)),
            "binary": models.BinaryQuantization(binary=models.BinaryQuantizationConfig(always_ram=True)),
        }.get(self.storage)
        config = {
            TOKENS: models.VectorParams(
                size=self.dim,
                distance=models.Distance.DOT,  # MaxSim sums dot products, as lateint.maxsim does
                multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM),
                datatype=models.Datatype.FLOAT16 if self.storage == "float16" else models.Datatype.FLOAT32,
                quantization_config=quantization,
                on_disk=self.on_disk,
                hnsw_config=models.HnswConfigDiff(m=0),  # no graph: MaxSim scans (or re-ranks candidates)
            )
        }
        if self.pooled:
            config[POOLED] = models.VectorParams(size=self.dim, distance=models.Distance.COSINE)
        return config

    def _upsert(self, points) -> None:
        from qdrant_client import models

        structs = [models.PointStruct(id=i, vector=v, payload=p) for i, v, p in points]
        self.client.upsert(self.collection, points=structs, wait=True)

    def _query(self, requests: list[_Request]) -> list[list[Hit]]:
        from qdrant_client import models

        def params(r: _Request) -> models.SearchParams | None:
            if self._local:
                return None
            quantization = None if r.rescore is None else models.QuantizationSearchParams(rescore=r.rescore)
            return models.SearchParams(exact=r.exact, quantization=quantization)

        batch = [
            models.QueryRequest(
                query=r.tokens,
                using=TOKENS,
                limit=r.k,
                params=params(r),
                with_payload=["doc_id"],
                prefetch=None if r.pooled is None else models.Prefetch(
                    query=r.pooled, using=POOLED, limit=r.n_candidates, params=None if self._local else models.SearchParams(exact=r.exact)
                ),
            )
            for r in requests
        ]
        out = []
        for start in range(0, len(batch), 16):  # a few queries per request keeps each message small
            answers = self.client.query_batch_points(self.collection, requests=batch[start : start + 16])
            out += [[Hit(p.payload["doc_id"], float(p.score)) for p in a.points] for a in answers]
        return out

    def count(self) -> int:
        return self.client.count(self.collection, exact=True).count

    def close(self) -> None:
        self.client.close()


class EdgeIndex(_MaxSimEngine):
    """A Qdrant Edge shard of documents' token vectors: Qdrant's engine inside this process, in a folder.

    Args as :class:`QdrantIndex` (``path``: the shard's folder; created, or opened if it holds a shard).
    Opening a shard with another configuration raises a ``ValueError`` quoting the engine's reason.
    With ``int8`` or ``binary`` storage the quantised copy is built when an upload finishes.
    """

    def __init__(
        self, path: str | os.PathLike, dim: int = 384, storage: str = "float32", pooled: bool = True, on_disk: bool = False
    ) -> None:
        import qdrant_edge as qe

        super().__init__(dim, storage, pooled, on_disk)
        self.path = Path(path)
        self.where = f"Qdrant Edge shard {str(self.path)!r}"
        quantization = {
            "int8": qe.ScalarQuantizationConfig(qe.ScalarType.Int8, always_ram=True),
            "binary": qe.BinaryQuantizationConfig(always_ram=True),
        }.get(storage)
        vectors = {
            TOKENS: qe.EdgeVectorParams(
                size=dim,
                distance=qe.Distance.Dot,
                multivector_config=qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim),
                datatype=qe.VectorStorageDatatype.Float16 if storage == "float16" else qe.VectorStorageDatatype.Float32,
                quantization_config=quantization,
                on_disk=on_disk,
                hnsw_config=qe.HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000),
            )
        }
        if pooled:
            vectors[POOLED] = qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)
        # The quantised copy is built by the optimiser, which only touches segments above the
        # indexing threshold (in KB): set it low so that a course-size shard gets one too.
        optimizers = qe.EdgeOptimizersConfig(indexing_threshold=1) if quantization is not None else None
        config = qe.EdgeConfig(vectors=vectors, optimizers=optimizers)
        exists = self.path.is_dir() and any(self.path.iterdir())
        try:
            self.shard = qe.EdgeShard.load(str(self.path), config) if exists else qe.EdgeShard.create(str(self.path), config)
        except Exception as e:  # the binding raises a plain Exception with the engine's reason
            if exists:
                raise ValueError(
                    f"Cannot open the {self.where} as dim {dim}, {storage}{' + pooled' if pooled else ''}: {e}. "
                    "Open it with the settings it was made with, or pick an empty folder."
                ) from e
            raise

    def _upsert(self, points) -> None:
        import qdrant_edge as qe

        self.shard.update(qe.UpdateOperation.upsert_points([qe.Point(i, v, p) for i, v, p in points]))

    def _finish_upload(self) -> None:
        self.shard.flush()
        if self.storage in ("int8", "binary"):
            self.shard.optimize()

    def _query(self, requests: list[_Request]) -> list[list[Hit]]:
        import qdrant_edge as qe

        def params(r: _Request):
            quantization = None if r.rescore is None else qe.QuantizationSearchParams(rescore=r.rescore)
            return qe.SearchParams(exact=r.exact, quantization=quantization)

        batch = [
            qe.QueryRequest(
                limit=r.k,
                query=qe.Query.Nearest(r.tokens, using=TOKENS),
                params=params(r),
                with_payload=["doc_id"],
                prefetches=None if r.pooled is None else [
                    qe.Prefetch(limit=r.n_candidates, query=qe.Query.Nearest(r.pooled, using=POOLED),
                                params=qe.SearchParams(exact=r.exact))
                ],
            )
            for r in requests
        ]
        answers = self.shard.query_batch(qe.QueryBatchRequest(batch))
        return [[Hit(p.payload["doc_id"], float(p.score)) for p in a] for a in answers]

    def count(self) -> int:
        return self.shard.info().points_count

    def close(self) -> None:
        self.shard.close()


# ------------------------------------------------------------------ helpers


def _check_storage(storage: str) -> None:
    if storage not in STORAGES:
        raise ValueError(f"storage must be one of {STORAGES}, got {storage!r}.")


def _matrix(v, what: str) -> np.ndarray:
    """``v`` as a 2-D float32 numpy array (from a tensor or an array)."""
    if isinstance(v, torch.Tensor):
        v = v.detach().cpu().float().numpy()
    if not isinstance(v, np.ndarray) or v.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (rows, dim) tensor or array, got {getattr(v, 'shape', type(v).__name__)}.")
    return v.astype(np.float32, copy=False)


def _describe_client(vectors: Mapping) -> str:
    """A collection's named vectors in words, comparable between what exists and what is asked for."""
    parts = []
    for name, p in sorted(vectors.items()):
        kind = "MaxSim" if p.multivector_config is not None else str(getattr(p.distance, "value", p.distance)).lower()
        datatype = str(getattr(p.datatype, "value", p.datatype) or "float32")
        quantized = type(p.quantization_config).__name__ if p.quantization_config is not None else "no quantization"
        disk = ", on disk" if p.on_disk else ""
        parts.append(f"{name or '(unnamed)'}: dim {p.size}, {kind}, {datatype}, {quantized}{disk}")
    return "; ".join(parts)
