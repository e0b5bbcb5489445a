"""Qdrant through ``qdrant-client``: local mode (in memory or a folder) or a server/cluster by URL."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ...metrics import Hit
from .base import POOLED, TOKENS, MaxSimEngine, Request

__all__ = ["QdrantIndex"]


class QdrantIndex(MaxSimEngine):
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

    def _query(self, requests: list[Request]) -> list[list[Hit]]:
        from qdrant_client import models

        def params(r: Request) -> models.SearchParams | None:
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
