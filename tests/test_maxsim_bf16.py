"""bf16 MaxSim (the opt-in fast path): within its stated tolerance of float32, same ranking."""
import pytest
import torch
from helpers import ragged

import lateint
from lateint.cpu import cpu_features
from lateint.index import maxsim_scores
from lateint.similarity import maxsim, pad

BF16 = torch.bfloat16


def test_bf16_scores_within_tolerance_and_same_ranking():
    """The tolerance the docstring states (|bf16 - fp32| <= 0.01 * Lq for unit vectors) and the same top 10
    on a small retrieval case: each query has 10 documents holding noisy copies of its tokens."""
    gen = torch.Generator().manual_seed(5)
    queries, docs = ragged(6, 4, 32, 64, gen), ragged(200, 5, 120, 64, gen)
    for k, q in enumerate(queries):
        for j in range(10):
            noisy = q + (0.1 + 0.02 * j) * torch.randn(q.shape, generator=gen)
            docs[20 * k + j] = torch.nn.functional.normalize(torch.cat([docs[20 * k + j], noisy]), dim=-1)
    want = torch.tensor([[maxsim(q, d) for d in docs] for q in queries])
    (Q, qm), (D, dm) = pad(queries), pad(docs)
    tolerance = 0.01 * torch.tensor([len(q) for q in queries], dtype=torch.float32)[:, None]
    for got in (maxsim_scores(queries, docs, dtype=BF16),
                maxsim_scores(Q, D, qm, dm, dtype=BF16),
                maxsim_scores(Q.to(BF16), D.to(BF16), qm, dm, chunk_bytes=1),
                lateint.MaxSimIndex([str(i) for i in range(200)], docs, dtype=BF16).scores(queries)):
        assert got.dtype == torch.float32 and got.shape == (6, 200)
        assert bool(((got - want).abs() <= tolerance).all()), (got - want).abs().max()
        assert not torch.equal(got, want)  # it really computed in bf16
        for k, (g, w) in enumerate(zip(got, want)):
            assert set(w.topk(10).indices.tolist()) == set(range(20 * k, 20 * k + 10))  # the case is what it says
            assert set(g.topk(10).indices.tolist()) == set(range(20 * k, 20 * k + 10))


def test_bf16_with_masks_and_negative_best_matches():
    """Padding never wins in bf16 either, even where every real similarity is negative."""
    q = torch.tensor([[1.0, 0.0]])
    d = torch.tensor([[-1.0, 0.0], [-0.5, 0.0]])
    Q, qm = pad([q], length=3)
    D, dm = pad([d], length=6)
    assert maxsim_scores(Q, D, qm, dm, dtype=BF16).item() == pytest.approx(-0.5)
    assert maxsim_scores(Q, D, qm, dm, dtype=BF16, chunk_bytes=1).item() == pytest.approx(-0.5)
    assert lateint.MaxSimIndex(["d"], [d], dtype=BF16).scores([q]).item() == pytest.approx(-0.5)


def test_bf16_index_saves_and_loads_as_bf16(tmp_path):
    gen = torch.Generator().manual_seed(7)
    docs, queries = ragged(5, 2, 9, 8, gen), ragged(2, 2, 4, 8, gen)
    index = lateint.MaxSimIndex(list("abcde"), docs, dtype=BF16)
    assert index.vectors.dtype == BF16
    back = lateint.load_index(index.save(tmp_path / "i.safetensors"))
    assert back.vectors.dtype == BF16 and torch.equal(back.scores(queries), index.scores(queries))
    with pytest.raises(ValueError, match="float32 or torch.bfloat16"):
        lateint.MaxSimIndex(["a"], docs[:1], dtype=torch.float16)


def test_cpu_features_read_from_cpuinfo():
    intel = "model name\t: Intel(R) Xeon(R) Platinum\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
    amd = "model name\t: AMD EPYC 7B13\nflags\t\t: fpu sse avx avx2 fma\n"
    f = cpu_features(intel)
    assert f.model == "Intel(R) Xeon(R) Platinum" and f.native_bf16
    assert f.flags == ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
    assert "AVX-512 + AVX512-BF16 + AMX-BF16" in f.summary() and f.kind == "amx"
    g = cpu_features(amd)
    assert not g.native_bf16 and "AVX2 only" in g.summary() and "emulated" in g.summary() and g.kind == "avx2"
    assert cpu_features("").flags == () and not cpu_features("").native_bf16
    assert cpu_features().capability == torch.backends.cpu.get_cpu_capability()
