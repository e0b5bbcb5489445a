"""MaxSim in Qdrant: the search of :class:`lateint.index.MaxSimIndex`, in an engine that scales out.

Qdrant stores each document as one *point*: its token vectors as one multi-vector, compared with
a query's token vectors by MaxSim (the same sum of best matches as :func:`lateint.similarity.maxsim`),
its pooled vector as a second, named vector, and a payload (here the document id and anything
you add). Two classes, one interface::

    from lateint.engines.qdrant import EdgeIndex, QdrantIndex

    index = QdrantIndex("scifact", ":memory:", dim=384)      # or a folder, or "http://localhost:6333"
    index = EdgeIndex("scifact-shard/", dim=384)               # Qdrant Edge: the engine inside this process
    index.upload(ds.doc_ids, docs["tokens"], pooled=docs["pooled"])
    index.search(queries["tokens"], k=10)                      # [[Hit(doc_id, score), ...] per query]
    index.two_stage_search(queries["pooled"], queries["tokens"], k=10, n_candidates=100)

- :class:`QdrantIndex` speaks ``qdrant-client``: ``":memory:"`` or a folder run its *local mode*
  (the client's own pure-Python implementation of the API, for tests and notebooks), an
  ``http(s)://`` URL talks to a Qdrant server or cluster, with the same calls.
- :class:`EdgeIndex` runs Qdrant Edge (``qdrant-edge-py``): Qdrant's own Rust engine as a library,
  one shard in a folder. Its storage settings (float16, int8 or binary quantisation) really
  change the stored vectors; the client's local mode accepts them but scores in float32.

Both return what ``MaxSimIndex.search`` and ``lateint.rerank.two_stage_search`` return:
for each query, :class:`~lateint.metrics.Hit` ``(doc_id, score)`` s, best first. ``tests/test_qdrant.py`` checks the scores
equal lateint's brute force; lesson 08 and ``benchmarks/qdrant.py`` use them.
"""

from .base import UploadInterrupted, point_id
from .capacity import QDRANT_OVERHEAD, STORAGES, bytes_per_point
from .client import QdrantIndex
from .edge import EdgeIndex

__all__ = [
    "STORAGES",
    "QDRANT_OVERHEAD",
    "QdrantIndex",
    "EdgeIndex",
    "UploadInterrupted",
    "bytes_per_point",
    "point_id",
]
