"""Qdrant (client local mode and Qdrant Edge) answers like lateint's brute-force MaxSim, offline."""
import socket

import pytest
import torch
from helpers import needs_shared
from helpers import ragged

pytest.importorskip("qdrant_client")
pytest.importorskip("qdrant_edge")

from lateint.engines.qdrant import EdgeIndex, QdrantIndex, UploadInterrupted, bytes_per_point  # noqa: E402
from lateint.index import MaxSimIndex, PooledIndex  # noqa: E402
from lateint.index import maxsim_scores  # noqa: E402
from lateint.rerank import two_stage_search  # noqa: E402

ENGINES = ["local", "edge"]


def open_index(engine, tmp_path, dim, **kw):
    """A fresh index of either kind: client local mode in memory, or an Edge shard in tmp_path."""
    if engine == "local":
        return QdrantIndex("test", ":memory:", dim=dim, **kw)
    return EdgeIndex(tmp_path / "shard", dim=dim, **kw)


def assert_same_hits(got, want, atol=1e-4):
    """Same ranked documents and scores, up to float tolerance; a swap is allowed only between near-tied scores."""
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert [s for _, s in g] == pytest.approx([s for _, s in w], abs=atol)
        scores = [s for _, s in w]
        for rank, ((gd, _), (wd, ws)) in enumerate(zip(g, w)):
            if gd != wd:  # only ties may be ordered differently
                neighbours = scores[max(0, rank - 1) : rank] + scores[rank + 1 : rank + 2]
                assert any(abs(ws - s) <= atol for s in neighbours), f"rank {rank}: {gd} instead of {wd}"


@pytest.fixture(scope="module")
def scifact():
    """A SciFact slice (5 queries, their judged abstracts + 20 others), encoded once, and lateint's indexes.

    Small because qdrant-client's local mode computes MaxSim in Python, one (query, document) pair at a time.
    """
    from lateint.comparison import encode_corpus
    from lateint.data import load_beir, subsample
    from lateint.encoders import load_encoder

    ds = subsample(load_beir("scifact"), n_queries=5, n_distractors=20, seed=0)
    enc = load_encoder()
    with pytest.warns(UserWarning, match="-token limit"):  # most abstracts are cut at 256 tokens, as in the lessons
        docs = encode_corpus(enc, ds.doc_texts, "documents", cache=False)
    queries = encode_corpus(enc, ds.query_texts, "queries", cache=False)
    return ds, docs, queries, MaxSimIndex(ds.doc_ids, docs["tokens"]), PooledIndex(ds.doc_ids, docs["pooled"])


@needs_shared
@pytest.mark.parametrize("engine", ENGINES)
def test_top10_equals_brute_force_maxsim(engine, scifact, tmp_path):
    ds, docs, queries, maxsim_index, _ = scifact
    want = maxsim_index.hits(maxsim_scores(queries["tokens"], docs["tokens"]), k=10)
    with open_index(engine, tmp_path, dim=384) as index:
        assert index.upload(ds.doc_ids, docs["tokens"], pooled=docs["pooled"], batch_size=16) == len(ds.doc_ids)
        assert len(index) == len(ds.doc_ids)
        assert_same_hits(index.search(queries["tokens"], k=10, exact=True), want)
        if engine == "edge":  # the engine's default search too: token vectors have no approximate index
            assert_same_hits(index.search(queries["tokens"], k=10), want)
        # the same run dict as the in-memory index, for lateint.evaluate
        run, want_run = index.run(queries["tokens"], ds.query_ids, k=10, exact=True), maxsim_index.run(queries["tokens"], ds.query_ids, k=10)
        assert {q: set(r) for q, r in run.items()} == {q: set(r) for q, r in want_run.items()}
        assert all(abs(run[q][d] - want_run[q][d]) < 1e-3 for q in run for d in run[q])
        with pytest.raises(ValueError, match="one id per query"):
            index.run(queries["tokens"], ds.query_ids[:-1])


@needs_shared
@pytest.mark.parametrize("engine", ENGINES)
def test_prefetch_then_maxsim_equals_lateint_two_stage(engine, scifact, tmp_path):
    ds, docs, queries, maxsim_index, pooled_index = scifact
    want = two_stage_search(pooled_index, maxsim_index, queries["pooled"], queries["tokens"], k=10, n_candidates=12)
    with open_index(engine, tmp_path, dim=384) as index:
        index.upload(ds.doc_ids, docs["tokens"], pooled=docs["pooled"])
        got = index.two_stage_search(queries["pooled"], queries["tokens"], k=10, n_candidates=12)
    assert_same_hits(got, want)
    # 12 pooled candidates out of the slice's abstracts: some query loses a document of its exhaustive top 10
    exhaustive = maxsim_index.search(queries["tokens"], k=10)
    assert any({d for d, _ in g} != {d for d, _ in e} for g, e in zip(got, exhaustive))


@needs_shared
@pytest.mark.parametrize("engine", ENGINES)
def test_reopening_a_stored_collection_gives_the_same_results(engine, scifact, tmp_path):
    ds, docs, queries, _, _ = scifact
    tokens, pooled = queries["tokens"][:2], queries["pooled"][:2]  # two queries: local mode scores in Python
    make = {"local": lambda: QdrantIndex("scifact", tmp_path / "qdrant", dim=384),
            "edge": lambda: EdgeIndex(tmp_path / "shard", dim=384)}[engine]
    with make() as index:
        index.upload(ds.doc_ids, docs["tokens"], pooled=docs["pooled"], payloads=[{"title": ds.corpus[d]["title"]} for d in ds.doc_ids])
        before = index.search(tokens, k=10)
        before_two = index.two_stage_search(pooled, tokens, k=5, n_candidates=20)
    with make() as index:
        assert len(index) == len(ds.doc_ids)
        assert index.search(tokens, k=10) == before
        assert index.two_stage_search(pooled, tokens, k=5, n_candidates=20) == before_two


@needs_shared
def test_edge_float16_storage_rounds_the_scores_a_little(scifact, tmp_path):
    ds, docs, queries, maxsim_index, _ = scifact
    with EdgeIndex(tmp_path / "shard", dim=384, storage="float16", pooled=False) as index:
        index.upload(ds.doc_ids, docs["tokens"])
        got = index.search(queries["tokens"], k=10)
    exact = maxsim_scores(queries["tokens"], docs["tokens"])
    position = {d: j for j, d in enumerate(ds.doc_ids)}
    diffs = [abs(s - exact[i, position[d]].item()) for i, hits in enumerate(got) for d, s in hits]
    assert 0 < max(diffs) < 0.02  # float16 really is stored (scores move), and costs little


# ------------------------------------------------------------------ bad input (small random vectors)


def small(n_docs=40, dim=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    docs = ragged(n_docs, 2, 9, dim, g)
    return [f"d{i}" for i in range(n_docs)], docs, torch.stack([d.mean(0) for d in docs])


@pytest.mark.parametrize("engine", ENGINES)
def test_dimension_mismatch_and_empty_documents_are_refused_before_any_write(engine, tmp_path):
    ids, docs, pooled = small()
    with open_index(engine, tmp_path, dim=16) as index:
        with pytest.raises(ValueError, match="dim 8 but .* holds dim 16"):
            index.upload(ids, docs[:-1] + [torch.ones(3, 8)], pooled=pooled)
        with pytest.raises(ValueError, match="'d39' has no token vectors"):
            index.upload(ids, docs[:-1] + [torch.zeros(0, 16)], pooled=pooled)
        with pytest.raises(ValueError, match="pass pooled="):
            index.upload(ids, docs)
        assert len(index) == 0  # nothing was written
        index.upload(ids, docs, pooled=pooled)
        with pytest.raises(ValueError, match="Query 1 has dim 8"):
            index.search([docs[0], torch.ones(2, 8)])
        with pytest.raises(ValueError, match="no token vectors"):
            index.search([torch.zeros(0, 16)])
        with pytest.raises(ValueError, match="k <= n_candidates"):
            index.two_stage_search(pooled[:1], docs[:1], k=10, n_candidates=5)


def test_an_existing_collection_with_another_configuration_is_refused(tmp_path):
    first = QdrantIndex("docs", tmp_path / "qdrant", dim=16)
    first.close()
    with pytest.raises(ValueError, match="exists with another configuration.*dim 16.*dim 32"):
        QdrantIndex("docs", tmp_path / "qdrant", dim=32)
    with pytest.raises(ValueError, match="another configuration.*float16"):
        QdrantIndex("docs", tmp_path / "qdrant", dim=16, storage="float16")
    QdrantIndex("docs", tmp_path / "qdrant", dim=16).close()  # the same settings open it


def test_an_edge_shard_with_another_configuration_is_refused(tmp_path):
    ids, docs, pooled = small()
    with EdgeIndex(tmp_path / "shard", dim=16) as index:
        index.upload(ids, docs, pooled=pooled)
    with pytest.raises(ValueError, match="Cannot open the Qdrant Edge shard .* as dim 32"):
        EdgeIndex(tmp_path / "shard", dim=32)
    with pytest.raises(ValueError, match="settings it was made with"):
        EdgeIndex(tmp_path / "shard", dim=16, storage="float16")


def test_an_unreachable_server_is_a_clear_connection_error():
    with socket.socket() as s:  # a port nobody listens on once this socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionError, match=f"Cannot reach a Qdrant server at http://127.0.0.1:{port}.*qdrant/qdrant"):
        QdrantIndex("docs", f"http://127.0.0.1:{port}", dim=16, timeout=1)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_interrupted_upload_says_how_many_documents_landed_and_can_be_resumed(engine, tmp_path, monkeypatch):
    ids, docs, pooled = small()
    index = open_index(engine, tmp_path, dim=16)
    write, calls = index._upsert, []

    def failing_third_batch(points):
        calls.append(len(points))
        if len(calls) == 3:
            raise OSError("connection reset by peer")
        write(points)

    monkeypatch.setattr(index, "_upsert", failing_third_batch)
    with pytest.raises(UploadInterrupted, match="16 of 40 documents landed .*OSError: connection reset.* holds 16 points") as e:
        index.upload(ids, docs, pooled=pooled, batch_size=8)
    assert (e.value.landed, e.value.total, e.value.in_collection) == (16, 40, 16)
    monkeypatch.setattr(index, "_upsert", write)
    index.upload(ids, docs, pooled=pooled, batch_size=8)  # again, in full: the 16 are overwritten
    assert len(index) == 40
    index.close()


def test_bad_settings():
    with pytest.raises(ValueError, match="storage must be one of"):
        QdrantIndex("x", ":memory:", dim=16, storage="int4")
    with pytest.raises(ValueError, match="dim must be a positive"):
        QdrantIndex("x", ":memory:", dim=0)
    with QdrantIndex("x", ":memory:", dim=16, pooled=False) as index:
        ids, docs, pooled = small()
        with pytest.raises(ValueError, match="without pooled vectors"):
            index.upload(ids, docs, pooled=pooled)
        index.upload(ids, docs)
        with pytest.raises(ValueError, match="no pooled vectors"):
            index.two_stage_search(pooled[:1], docs[:1])


def test_bytes_per_point_counts_each_storage():
    assert bytes_per_point(10, 384) == {"ram": 15_360, "disk": 0}
    assert bytes_per_point(10, 384, "float16", on_disk=True) == {"ram": 0, "disk": 7_680}
    # quantised: the copy searched in RAM, the float32 originals for re-scoring
    assert bytes_per_point(10, 384, "int8", on_disk=True) == {"ram": 3_840, "disk": 15_360}
    assert bytes_per_point(10, 384, "binary") == {"ram": 480 + 15_360, "disk": 0}
    assert bytes_per_point(1, 100, "binary")["ram"] == 13 + 400  # 100 bits round up to 13 bytes
