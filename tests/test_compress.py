"""Compression levers: token pooling, PCA, int8, the residual codec, byte counting."""
import pytest
import torch

from lateint.lessons.compress import (
    Compression,
    ResidualCodec,
    bytes_per_document,
    compress_corpus,
    dequantize,
    fit_pca,
    kmeans,
    merged_tokens,
    nbytes,
    merge_tokens,
    quantize_int8,
    token_groups,
)
from lateint.similarity import maxsim, pad


def unit(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(*shape, generator=g), dim=-1)


def ragged(n, lo, hi, dim, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [unit(int(torch.randint(lo, hi + 1, (1,), generator=g)), dim, seed=seed * 1000 + i) for i in range(n)]


# ------------------------------------------------------------------ pooling


def test_pool_tokens_counts_protects_and_averages():
    docs = ragged(6, 1, 40, 16, seed=1)
    for factor in (1, 2, 3, 4):
        pooled = merge_tokens(docs, factor)
        assert len(pooled) == len(docs)
        for d, p in zip(docs, pooled):
            assert p.shape[1] == 16
            expected = len(d) if factor == 1 or len(d) <= 2 else 1 + max((len(d) - 1) // factor, 1)
            assert len(p) <= expected  # fcluster may merge into fewer groups
            assert len(p) >= (1 if len(d) == 1 else 2) and len(p) <= len(d)
            torch.testing.assert_close(p[0], d[0])  # [CLS] is protected
    # padding the pooled documents gives masks that count exactly their vectors
    pooled = merge_tokens(docs, 2)
    _, mask = pad(pooled)
    assert mask.sum(1).tolist() == [len(p) for p in pooled]


def test_pool_tokens_merges_duplicates_exactly():
    a, b, c = unit(3, 8, seed=2)
    # tokens: [CLS]=c, then a, b, a, b: pooling by 2 must give back a and b
    doc = torch.stack([c, a, b, a, b])
    groups = token_groups(doc, 2).tolist()
    assert groups[0] == 0 and groups[1] == groups[3] != groups[2] == groups[4]  # similar, not neighbouring
    assert token_groups(doc, 1).tolist() == [0, 1, 2, 3, 4]
    words = merged_tokens(["[CLS]", "a", "b", "a2", "b2"], token_groups(doc, 2))
    assert words[0] == ["[CLS]"] and sorted(words[1:]) == [["a", "a2"], ["b", "b2"]]
    with pytest.raises(ValueError, match="align"):
        merged_tokens(["x"], token_groups(doc, 2))
    pooled = merge_tokens([doc], 2)[0]
    assert pooled.shape == (3, 8)
    torch.testing.assert_close(pooled[0], c)
    rest = sorted(pooled[1:].tolist())
    torch.testing.assert_close(torch.tensor(rest), torch.tensor(sorted([a.tolist(), b.tolist()])))
    # merging duplicates cannot change MaxSim
    q = unit(4, 8, seed=3)
    assert maxsim(q, pooled) == pytest.approx(maxsim(q, doc), abs=1e-6)


def test_pool_tokens_bad_input():
    with pytest.raises(ValueError, match="pool_factor"):
        merge_tokens([unit(3, 4)], 0)
    with pytest.raises(ValueError, match="protected"):
        merge_tokens([unit(3, 4)], 2, protected=-1)
    with pytest.raises(ValueError, match="list of"):
        merge_tokens(unit(3, 4), 2)


# ---------------------------------------------------------------------- PCA


def test_pca_full_dim_is_lossless():
    docs = ragged(10, 5, 20, 12, seed=4)
    pca = fit_pca(docs, 12)
    x = torch.cat(docs)
    torch.testing.assert_close(pca.inverse(pca.apply(x)), x, atol=1e-5, rtol=1e-5)
    q = unit(5, 12, seed=5)
    for d in docs:
        assert maxsim(pca.apply(q), pca.apply(d)) == pytest.approx(maxsim(q, d), abs=1e-5)
    assert pca.energy.sum().item() == pytest.approx(1.0, abs=1e-5)


def test_pca_keeps_the_directions_with_most_energy():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(500, 6, generator=g) * torch.tensor([5.0, 0.1, 3.0, 0.1, 0.1, 0.1])
    pca = fit_pca(x, 2)
    assert pca.apply(x).shape == (500, 2)
    assert pca.apply([x[:3], x[3:5]])[1].shape == (2, 2)
    # the two strong axes (0 and 2) span the components
    assert set(pca.components.abs().argmax(dim=1).tolist()) == {0, 2}
    assert (pca.energy[:-1] >= pca.energy[1:]).all() and pca.energy.sum() > 0.99
    with pytest.raises(ValueError, match="between 1 and 6"):
        fit_pca(x, 7)
    with pytest.raises(ValueError, match="fitted on 6"):
        pca.apply(torch.zeros(2, 5))


# --------------------------------------------------------------------- int8


@pytest.mark.parametrize("per", ["vector", "dimension"])
def test_int8_error_within_half_a_step(per):
    x = unit(200, 32, seed=7) * torch.linspace(0.1, 3.0, 200).unsqueeze(1)
    q = quantize_int8(x, per=per)
    assert q.codes.dtype == torch.int8 and q.codes.shape == x.shape
    assert q.scale.shape == ((200, 1) if per == "vector" else (1, 32))
    err = (dequantize(q) - x).abs()
    assert (err <= q.scale / 2 + 1e-6).all()
    assert q.codes.abs().max() == 127  # the range is used fully


def test_int8_bad_input_and_zero_vector():
    q = quantize_int8(torch.zeros(2, 4))
    assert torch.equal(dequantize(q), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="per must be"):
        quantize_int8(torch.ones(2, 2), per="row")
    with pytest.raises(ValueError, match=r"\(n, dim\)"):
        quantize_int8(torch.ones(2, 2, 2))


# ---------------------------------------------------------- residual codec


def test_kmeans_finds_separated_clusters():
    centers = torch.tensor([[5.0, 0.0], [-5.0, 0.0], [0.0, 5.0]])
    g = torch.Generator().manual_seed(8)
    x = torch.cat([c + 0.1 * torch.randn(50, 2, generator=g) for c in centers])
    found = kmeans(x, 3, iterations=20, seed=0)
    dist = torch.cdist(centers, found).min(dim=1).values
    assert (dist < 0.2).all()
    with pytest.raises(ValueError, match="k must be between"):
        kmeans(x, 1000)


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_residual_codec_roundtrip_error_shrinks_with_bits(bits):
    x = unit(3000, 16, seed=9)
    codec = ResidualCodec.fit(x, n_centroids=32, bits=bits, seed=0)
    codes = codec.encode(x)
    assert codes.centroid.dtype == torch.int16 and codes.centroid.shape == (3000,)
    assert codes.residual.dtype == torch.uint8 and codes.residual.shape == (3000, 16 * bits // 8)
    decoded = codec.decode(codes)
    err = (decoded - x).norm(dim=1).mean().item()
    centroid_only = (codec.centroids[codes.centroid.long()] - x).norm(dim=1).mean().item()
    assert err < centroid_only  # the residual bits help
    assert err < {1: 0.6, 2: 0.35, 4: 0.12}[bits]
    # every bucket's value lies between its cutoffs
    lo = torch.cat([torch.full((16, 1), -float("inf")), codec.cutoffs], 1)
    hi = torch.cat([codec.cutoffs, torch.full((16, 1), float("inf"))], 1)
    assert ((codec.values >= lo) & (codec.values <= hi)).all()


def test_residual_codec_packs_buckets_exactly():
    # with the centroid at 0 and chosen cutoffs, decode(encode(x)) is the bucket values
    centroids = torch.zeros(1, 8)
    cutoffs = torch.tensor([[-0.5, 0.0, 0.5]]).repeat(8, 1)
    values = torch.tensor([[-1.0, -0.25, 0.25, 1.0]]).repeat(8, 1)
    codec = ResidualCodec(centroids, cutoffs, values, bits=2)
    x = torch.tensor([[-0.9, -0.1, 0.1, 0.9, -0.6, 0.6, -0.4, 0.4]])
    out = codec.decode(codec.encode(x))
    torch.testing.assert_close(out, torch.tensor([[-1.0, -0.25, 0.25, 1.0, -1.0, 1.0, -0.25, 0.25]]))
    assert codec.encode(x).residual.shape == (1, 2)  # 8 dims * 2 bits = 2 bytes


def test_residual_codec_bad_settings():
    with pytest.raises(ValueError, match="bits must be"):
        ResidualCodec(torch.zeros(2, 8), torch.zeros(8, 2), torch.zeros(8, 3), bits=3)
    with pytest.raises(ValueError, match="multiple of 8"):
        ResidualCodec(torch.zeros(2, 3), torch.zeros(3, 1), torch.zeros(3, 2), bits=1)
    with pytest.raises(ValueError, match="n_centroids"):
        ResidualCodec.fit(unit(10, 8), n_centroids=50)


# ------------------------------------------------------------------ counting


def test_bytes_per_document_counts_every_tensor():
    q = quantize_int8(torch.ones(10, 8))  # 80 bytes of codes + 10 float32 scales
    assert nbytes(q) == 80 + 40
    assert nbytes([torch.zeros(3, dtype=torch.float16), {"a": torch.zeros(2)}]) == 6 + 8
    assert bytes_per_document(q, n_docs=2) == 60
    assert bytes_per_document(torch.zeros(4, 2), 2, shared=[torch.zeros(4)]) == (32 + 16) / 2
    with pytest.raises(ValueError, match="n_docs"):
        bytes_per_document(q, 0)
    with pytest.raises(TypeError, match="Cannot count"):
        nbytes("text")


# ------------------------------------------------------------ whole settings


def test_compress_corpus_sizes_and_shapes():
    docs, queries = ragged(12, 20, 40, 32, seed=10), ragged(3, 4, 8, 32, seed=11)
    tokens = sum(len(d) for d in docs)
    full = compress_corpus(docs, queries, Compression())
    assert full.bytes_per_doc == tokens * 32 * 4 / 12
    torch.testing.assert_close(torch.cat(full.docs), torch.cat(docs))  # fp32: nothing lost
    half = compress_corpus(docs, queries, Compression(storage="fp16"))
    assert half.bytes_per_doc == full.bytes_per_doc / 2
    small = compress_corpus(docs, queries, Compression(pool_factor=2, dim=8, storage="int8-dimension"))
    assert all(d.shape[1] == 8 for d in small.docs) and all(q.shape[1] == 8 for q in small.queries)
    assert small.vectors_per_doc < tokens / 12 * 0.6
    # int8 codes + per-dimension scales + the float16 PCA matrix, spread over the documents
    assert small.bytes_per_doc == pytest.approx((small.vectors_per_doc * 12 * 8 + 8 * 4 + 8 * 32 * 2) / 12)
    res = compress_corpus(docs, queries, Compression(storage="residual-2bit", n_centroids=16))
    shared = 16 * 32 * 2 + 32 * 3 * 4 + 32 * 4 * 4
    assert res.bytes_per_doc == pytest.approx((tokens * (2 + 32 * 2 / 8) + shared) / 12)
    for d in res.docs:
        torch.testing.assert_close(d.norm(dim=1), torch.ones(len(d)))
    assert Compression(pool_factor=2, dim=8, storage="residual-1bit", n_centroids=64).label == (
        "pool 2 + PCA 8 + residual-1bit (64 centroids)"
    )
    with pytest.raises(ValueError, match="storage must be"):
        Compression(storage="int4")


def test_compressed_maxsim_ranks_like_the_original():
    # 40 documents whose tokens live near a 16-dimensional subspace (real token vectors
    # also concentrate in few directions); query i is a noisy copy of 6 tokens of document i
    g = torch.Generator().manual_seed(13)
    basis = torch.randn(16, 64, generator=g)
    docs = [torch.nn.functional.normalize(torch.randn(int(n), 16, generator=g) @ basis + 0.1 * torch.randn(int(n), 64, generator=g), dim=-1)
            for n in torch.randint(30, 61, (40,), generator=g)]
    queries = [torch.nn.functional.normalize(docs[i][:6] + 0.02 * torch.randn(6, 64, generator=g), dim=-1) for i in range(10)]

    def hits(setting):
        c = compress_corpus(docs, queries, setting)
        return sum(torch.tensor([maxsim(q, d) for d in c.docs]).argmax().item() == i for i, q in enumerate(c.queries))

    for setting in (Compression(), Compression(pool_factor=2, dim=32, storage="int8-vector"),
                    Compression(storage="residual-1bit", n_centroids=64)):
        assert hits(setting) == 10, setting.label
    assert hits(Compression(dim=2)) < 10  # the check can fail: two dimensions lose the documents apart


def test_compress_each_matches_compress_corpus_and_pools_once(monkeypatch):
    from lateint.lessons import compress

    docs, queries = ragged(8, 10, 30, 16, seed=14), ragged(2, 3, 5, 16, seed=15)
    settings = [Compression(), Compression(pool_factor=2), Compression(pool_factor=2, storage="int8-vector"),
                Compression(pool_factor=3, dim=8)]
    calls = []
    real = compress.merge_tokens
    monkeypatch.setattr(compress, "merge_tokens", lambda v, f, **kw: calls.append(f) or real(v, f, **kw))
    got = list(compress.compress_each(docs, queries, settings))
    assert calls == [2, 3]  # one pooling per factor
    assert [s for s, _ in got] == settings
    for setting, result in got:
        want = compress_corpus(docs, queries, setting)
        assert result.bytes_per_doc == want.bytes_per_doc
        for a, b in zip(result.docs, want.docs):
            torch.testing.assert_close(a, b)
