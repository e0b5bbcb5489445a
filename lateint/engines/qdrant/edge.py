"""Qdrant Edge (``qdrant-edge-py``): Qdrant's Rust engine inside this process, one shard in a folder."""

from __future__ import annotations

import os
from pathlib import Path

from ...metrics import Hit
from .base import POOLED, TOKENS, MaxSimEngine, Request

__all__ = ["EdgeIndex"]


class EdgeIndex(MaxSimEngine):
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

    def _query(self, requests: list[Request]) -> list[list[Hit]]:
        import qdrant_edge as qe

        def params(r: Request):
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
