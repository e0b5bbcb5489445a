"""Qdrant's embedded engines against lateint's brute force on one SciFact slice, and storage at scale.

    python benchmarks/qdrant.py                   # 50 queries, their abstracts + 450 others
    python benchmarks/qdrant.py --write-readme    # also update benchmarks/README.md

Part 1, speed: each engine indexes the same token vectors (and pooled vectors) and answers the
same queries; index seconds, queries per second (best of ``--repeats``) and recall@10 against
lateint's exhaustive MaxSim. Qdrant Edge runs Qdrant's Rust engine in this process;
qdrant-client's local mode is the client's pure-Python stand-in for a server (exact, slow:
it is timed on ``--local-queries`` queries only). Single process, no network: a server adds
a round trip per request but runs the same engine as Edge.

Part 2, storage: bytes per document at the course's best compression setting (pool 4 +
PCA 192 + residual 2-bit, see the footprint table) for 1 M and 100 M documents. Qdrant has no
residual codec: it stores the pooled and projected vectors in one of its own formats; each row
adds the pooled float32 vector for candidate generation and Qdrant's x1.5 capacity-planning
overhead (https://qdrant.tech/documentation/guides/capacity-planning/).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from _common import report, table  # noqa: E402

from lateint.comparison import encode_corpus  # noqa: E402
from lateint.lessons.compress import ResidualCodec, fit_pca, merge_tokens, nbytes  # noqa: E402
from lateint.lessons.cost import best_of, found_share  # noqa: E402
from lateint.data import load_beir, subsample  # noqa: E402
from lateint.encoders import load_encoder  # noqa: E402
from lateint.engines.qdrant import QDRANT_OVERHEAD, EdgeIndex, QdrantIndex, bytes_per_point  # noqa: E402
from lateint.index import MaxSimIndex, PooledIndex  # noqa: E402
from lateint.rerank import two_stage_search  # noqa: E402

POOL, PCA_DIM, BITS, CENTROIDS = 4, 192, 2, 1024  # the course's best setting (benchmarks/README.md, footprint)


def speed(ds, docs, queries, repeats: int, n_local: int, k: int = 10, n_candidates: int = 100) -> list[list]:
    tokens, pooled, pq = docs["tokens"], docs["pooled"], queries["pooled"]
    nq = len(ds.query_ids)
    index_s, maxsim_index = best_of(lambda: MaxSimIndex(ds.doc_ids, tokens), repeats)
    pooled_index = PooledIndex(ds.doc_ids, pooled)
    search_s, exact = best_of(lambda: maxsim_index.search(queries["tokens"], k), repeats)
    rows = [["lateint MaxSimIndex (brute force)", "exhaustive", f"{index_s:.2f}", nq / search_s, "100%"]]
    two_s, two = best_of(lambda: two_stage_search(pooled_index, maxsim_index, pq, queries["tokens"], k, n_candidates), repeats)
    rows.append(["lateint two_stage_search", f"{n_candidates} pooled candidates", "", nq / two_s, f"{found_share(two, exact):.1%}"])

    with tempfile.TemporaryDirectory() as tmp:
        def build_edge():
            shard = Path(tempfile.mkdtemp(dir=tmp))
            start = time.perf_counter()
            index = EdgeIndex(shard, dim=pooled.shape[1])
            index.upload(ds.doc_ids, tokens, pooled=pooled, show_progress=False)
            return time.perf_counter() - start, index

        edge_s, edge = min((build_edge() for _ in range(repeats)), key=lambda r: r[0])
        s, hits = best_of(lambda: edge.search(queries["tokens"], k, exact=True), repeats)
        rows.append(["Qdrant Edge (qdrant-edge-py)", "exhaustive", f"{edge_s:.2f}", nq / s, f"{found_share(hits, exact):.1%}"])
        s, hits = best_of(lambda: edge.two_stage_search(pq, queries["tokens"], k, n_candidates), repeats)
        rows.append(["Qdrant Edge, prefetch + MaxSim", f"{n_candidates} pooled candidates", "", nq / s, f"{found_share(hits, exact):.1%}"])
        edge.close()

    start = time.perf_counter()
    local = QdrantIndex("bench", ":memory:", dim=pooled.shape[1])
    local.upload(ds.doc_ids, tokens, pooled=pooled, show_progress=False)
    local_s = time.perf_counter() - start
    some = queries["tokens"][:n_local]
    s, hits = best_of(lambda: local.search(some, k), 1)
    rows.append([f"qdrant-client local mode ({n_local} queries)", "exhaustive", f"{local_s:.2f}", n_local / s,
                 f"{found_share(hits, exact[:n_local]):.1%}"])
    local.close()
    return rows


def storage(docs) -> tuple[float, list[list]]:
    """Vectors per document at the best setting, and the storage rows (bytes per document, 1 M and 100 M)."""
    pooled_docs = merge_tokens(docs["tokens"], POOL)
    projected = fit_pca(pooled_docs, PCA_DIM).apply(pooled_docs)
    flat = torch.cat(projected)
    n_docs, per_doc = len(projected), len(flat) / len(projected)
    codes = ResidualCodec.fit(flat, min(CENTROIDS, len(flat)), bits=BITS).encode(flat)
    pooled_vector = bytes_per_point(1, docs["pooled"].shape[1])["ram"]

    def scale(ram: float, disk: float) -> list[str]:
        return [f"{ram:,.0f}", f"{disk:,.0f}"] + [
            f"{ram * n / 1e9:,.0f} GB RAM + {disk * n / 1e9:,.0f} GB disk" for n in (1e6, 1e8)
        ]

    rows = [["lateint residual 2-bit codes (not a Qdrant format; shared tables left out)", *scale(nbytes(codes) / n_docs, 0)]]
    for name, on_disk in (("float32", False), ("float16", False), ("float16", True), ("int8", True), ("binary", True)):
        b = bytes_per_point(per_doc, PCA_DIM, name, on_disk=on_disk)
        label = f"Qdrant {name}" + (" quantised in RAM, float32 originals on disk" if name in ("int8", "binary")
                                    else (" on disk" if on_disk else " in RAM"))
        rows.append([label, *scale((b["ram"] + pooled_vector) * QDRANT_OVERHEAD, b["disk"] * QDRANT_OVERHEAD)])
    return per_doc, rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--queries", type=int, default=50)
    p.add_argument("--distractors", type=int, default=450)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--local-queries", type=int, default=5)
    p.add_argument("--write-readme", action="store_true", help="put the tables into benchmarks/README.md")
    args = p.parse_args(argv)

    enc = load_encoder()
    ds = subsample(load_beir("scifact"), n_queries=args.queries, n_distractors=args.distractors, seed=0)
    docs = encode_corpus(enc, ds.doc_texts, "documents", show_progress=True)
    queries = encode_corpus(enc, ds.query_texts, "queries")
    tokens_per_doc = sum(len(t) for t in docs["tokens"]) / len(ds.doc_ids)
    rows = speed(ds, docs, queries, args.repeats, args.local_queries)
    per_doc, storage_rows = storage(docs)
    body = (
        f"SciFact slice: {len(ds.doc_ids)} abstracts ({tokens_per_doc:.0f} token vectors each on average, dim 384), "
        f"{len(ds.query_ids)} test queries; best of {args.repeats}; recall@10 against lateint's exhaustive MaxSim.\n\n"
        + table(["engine", "search", "index seconds", "queries/s", "recall@10 vs exhaustive"], rows)
        + f"\n\nStorage at the course's best setting (pool {POOL} + PCA {PCA_DIM}: {per_doc:.1f} vectors of "
        f"{PCA_DIM} numbers per abstract on this slice). Qdrant rows: token vectors + one pooled float32 vector, "
        f"x{QDRANT_OVERHEAD} overhead.\n\n"
        + table(["stored as", "RAM bytes/doc", "disk bytes/doc", "1 M documents", "100 M documents"], storage_rows)
    )
    report("qdrant", body, args.write_readme)


if __name__ == "__main__":
    main()
