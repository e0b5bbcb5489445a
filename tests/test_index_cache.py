"""Index search, save/load, and the embedding cache."""
import warnings

import pytest
import torch
from helpers import ragged

from lateint.cache import cached_encode, encode
from lateint.encoders import TruncationWarning
from lateint.index import MaxSimIndex, PooledIndex, load_index
from lateint.similarity import maxsim


def rand_docs(n, seed=0, dim=8):
    return ragged(n, 1, 29, dim, torch.Generator().manual_seed(seed))


def test_maxsim_index_scores_equal_reference():
    docs, queries = rand_docs(50), rand_docs(4, seed=1)
    idx = MaxSimIndex([f"d{i}" for i in range(50)], docs)
    s = idx.scores(queries)
    ref = torch.tensor([[maxsim(q, d) for d in docs] for q in queries])
    torch.testing.assert_close(s, ref, atol=1e-5, rtol=1e-5)
    top = idx.search(queries, k=3)
    assert len(top) == 4 and all(len(r) == 3 for r in top)
    for qi, ranked in enumerate(top):
        best = ref[qi].topk(3)
        assert [d for d, _ in ranked] == [f"d{j}" for j in best.indices.tolist()]
        assert [s for _, s in ranked] == sorted([s for _, s in ranked], reverse=True)
    assert len(idx.search(queries, k=500)[0]) == 50


def test_save_load_roundtrip(tmp_path):
    docs = rand_docs(10)
    idx = MaxSimIndex([f"doc {i}" for i in range(10)], docs)  # ids with spaces survive
    p = idx.save(tmp_path / "i.safetensors")
    back = load_index(p)
    assert isinstance(back, MaxSimIndex) and back.doc_ids == idx.doc_ids
    q = rand_docs(2, seed=5)
    torch.testing.assert_close(back.scores(q), idx.scores(q))
    pooled = PooledIndex(["a", "b"], torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    back = load_index(pooled.save(tmp_path / "p.safetensors"))
    assert isinstance(back, PooledIndex)
    assert back.search(torch.tensor([[0.1, 1.0]]), k=1) == [[("b", pytest.approx(0.995037, abs=1e-5))]]
    assert not list(tmp_path.glob("*.tmp"))


def test_index_bad_input(tmp_path):
    with pytest.raises(ValueError, match="duplicates"):
        MaxSimIndex(["a", "a"], rand_docs(2))
    with pytest.raises(ValueError, match="2 ids but 3"):
        MaxSimIndex(["a", "b"], rand_docs(3))
    with pytest.raises(ValueError, match="non-empty"):
        MaxSimIndex(["a", "b"], [torch.zeros(2, 8), torch.zeros(0, 8)])
    with pytest.raises(ValueError, match="same dim"):
        MaxSimIndex(["a", "b"], [torch.zeros(2, 8), torch.zeros(2, 4)])
    with pytest.raises(ValueError, match="same encoder"):
        MaxSimIndex(["a"], rand_docs(1)).scores([torch.zeros(2, 4)])
    with pytest.raises(ValueError, match="one row per id"):
        PooledIndex(["a"], torch.zeros(2, 3))
    with pytest.raises(ValueError, match="k must be"):
        PooledIndex(["a"], torch.zeros(1, 3)).search(torch.zeros(1, 3), k=0)
    with pytest.raises(FileNotFoundError, match="No index file"):
        load_index(tmp_path / "missing.safetensors")


class CountingEncoder:
    """Stands in for an Encoder: counts calls, returns deterministic vectors."""

    fingerprint = "test-encoder"

    def __init__(self):
        self.calls = 0

    def encode_documents(self, texts, **kw):
        self.calls += 1
        return [torch.full((len(t), 3), float(len(t))) for t in texts]

    encode_queries = encode_documents

    def encode_pooled(self, texts, pooling=None, **kw):
        self.calls += 1
        return torch.tensor([[float(len(t)), 1.0] for t in texts])


def test_cache_hits_and_keys(tmp_path):
    enc = CountingEncoder()
    a = cached_encode(enc, ["ab", "cde"], "documents", path=tmp_path)
    b = cached_encode(enc, ["ab", "cde"], "documents", path=tmp_path)
    assert enc.calls == 1
    assert [x.shape for x in b] == [(2, 3), (3, 3)]
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y)
    cached_encode(enc, ["ab", "cdf"], "documents", path=tmp_path)  # one text changed
    cached_encode(enc, ["ab", "cde"], "queries", path=tmp_path)  # other kind
    assert enc.calls == 3
    p1 = cached_encode(enc, ["ab"], "pooled", path=tmp_path)
    p2 = cached_encode(enc, ["ab"], "pooled", path=tmp_path)
    assert enc.calls == 4 and torch.equal(p1, p2)
    cached_encode(enc, ["ab", "cde"], "documents", path=tmp_path, batch_size=7)  # speed-only setting: a hit
    assert enc.calls == 4
    cached_encode(enc, ["ab", "cde"], "documents", path=tmp_path, normalize=False)  # other vectors: a miss
    assert enc.calls == 5
    enc.fingerprint = "other-model"
    cached_encode(enc, ["ab", "cde"], "documents", path=tmp_path)
    assert enc.calls == 6
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(ValueError, match="kind must be"):
        cached_encode(enc, ["ab"], "tokens", path=tmp_path)


def test_encode_goes_through_the_cache_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("LATEINT_CACHE", str(tmp_path))
    enc = CountingEncoder()
    fresh = encode(enc, ["ab", "cde"], "documents", cache=False)
    assert enc.calls == 1 and not list(tmp_path.iterdir())  # nothing written
    assert torch.equal(encode(enc, ["ab"], "pooled", cache=False), enc.encode_pooled(["ab"]))
    assert enc.calls == 3
    for _ in range(2):
        cached = encode(enc, ["ab", "cde"], "documents")  # cache=True: one miss, then a hit
    assert enc.calls == 4 and len(list(tmp_path.glob("*.safetensors"))) == 1
    assert all(torch.equal(x, y) for x, y in zip(fresh, cached))
    with pytest.raises(ValueError, match="kind must be"):
        encode(enc, ["ab"], "tokens", cache=False)


def test_cache_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("LATEINT_CACHE", str(tmp_path / "c"))
    enc = CountingEncoder()
    cached_encode(enc, ["x"], "documents")
    assert len(list((tmp_path / "c").glob("*.safetensors"))) == 1


def test_cache_hit_repeats_the_truncation_warning(tmp_path):
    from lateint import load_encoder

    enc = load_encoder(document_length=16)
    texts = ["word " * 40, "short"]
    with pytest.warns(UserWarning, match="1 of 2 documents are longer than the 16-token limit"):
        cold = cached_encode(enc, texts, "documents", path=tmp_path)
    with pytest.warns(UserWarning, match="1 of 2 documents are longer than the 16-token limit"):
        warm = cached_encode(enc, texts, "documents", path=tmp_path)
    for a, b in zip(cold, warm):
        torch.testing.assert_close(a, b)


def test_whole_documents_are_cached_and_shards_resume(tmp_path, encoder, monkeypatch):
    """kind="whole" caches encode_whole (no truncation warning: nothing is cut); encode_in_shards gives what one
    call gives, and a run interrupted after its first shard encodes only the shards it had not written."""
    import warnings

    from lateint import encode_whole
    from lateint.cache import encode_in_shards

    texts = ["alpha beta " * 200, "a short one", "gamma delta " * 150]
    fresh = encode_whole(encoder, texts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a 400-token document, encoded whole: no truncation warning, fresh or cached
        for _ in range(2):
            cached = cached_encode(encoder, texts, "whole", path=tmp_path)
            assert [len(c) for c in cached] == [len(f) for f in fresh] and len(cached[0]) > 256
            assert all(torch.equal(c, f) for c, f in zip(cached, fresh))
    calls = []
    real = encoder.token_states
    monkeypatch.setattr(encoder, "token_states", lambda *a: calls.append(1) or real(*a))
    shards = tmp_path / "shards"
    encode_in_shards(encoder, texts[:2], "whole", shard=2, path=shards)  # as if stopped after the first shard
    first = len(calls)
    out = encode_in_shards(encoder, texts, "whole", shard=2, path=shards, progress="test")
    assert len(list(shards.glob("*.safetensors"))) == 2
    assert all(torch.allclose(o, f, atol=1e-5) for o, f in zip(out, fresh))
    assert 0 < len(calls) - first < first + 2  # only the last shard's windows were encoded again
    pooled = encode_in_shards(encoder, texts, "pooled", shard=2, cache=False)
    torch.testing.assert_close(pooled, encoder.encode_pooled(texts), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="shard must be"):
        encode_in_shards(encoder, texts, shard=0)


@pytest.mark.parametrize("cache", [False, True])
def test_shards_warn_about_cut_texts_once_for_the_whole_call(encoder, tmp_path, cache):
    from lateint.cache import encode_in_shards

    texts = ["alpha beta " * 200, "a short one", "gamma delta " * 150, "another short one"]
    for _ in range(2):  # the second time, with cache=True, every shard is read back from the cache
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            encode_in_shards(encoder, texts, "documents", shard=1, cache=cache, path=tmp_path)
        cut = [str(w.message) for w in caught if issubclass(w.category, TruncationWarning)]
        assert len(cut) == 1 and cut[0].startswith("2 of 4 documents are longer than the 256-token limit"), cut
        assert caught[0].filename == __file__  # pointed at the caller's line, not the library's


def test_shards_pass_other_warnings_on_even_when_they_name_a_token_limit(encoder, tmp_path, monkeypatch):
    """Only the encoder's TruncationWarning is gathered into one; any other warning reaches the caller as it was."""
    from lateint.cache import encode_in_shards

    real = encoder.encode_documents

    def noisy(texts, **kw):
        warnings.warn("a 512-token limit of some other library", RuntimeWarning)
        return real(texts, **kw)

    monkeypatch.setattr(encoder, "encode_documents", noisy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        encode_in_shards(encoder, ["alpha beta " * 200, "short", "a third one"], "documents", shard=1, cache=False)
    kinds = [(w.category, str(w.message)[:30]) for w in caught]
    assert kinds.count((RuntimeWarning, "a 512-token limit of some othe")) == 3, kinds
    assert [c for c, _ in kinds].count(TruncationWarning) == 1, kinds
