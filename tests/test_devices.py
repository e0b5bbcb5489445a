"""The device rule: the model runs on the encoder's device; everything lateint hands back is float32 on the CPU.

The CUDA tests run where a GPU exists (a learner's Colab) and are skipped elsewhere; the CPU test
holds everywhere.
"""
import pytest
import torch

from lateint import MaxSimIndex, PooledIndex, load_encoder
from lateint.checks.harness import raw_hidden_states

TEXTS = ["ColBERT keeps one vector per token.", "Bananas are rich in potassium, a mineral."]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here (the rule is tested on CPU)")


def handed_back(enc) -> dict[str, torch.Tensor]:
    docs, queries = enc.encode_documents(TEXTS), enc.encode_queries(["which fruit has potassium?"])
    hidden, mask = raw_hidden_states(enc, TEXTS, is_query=False)
    return {"doc tokens": docs[0], "query tokens": queries[0], "pooled": enc.encode_pooled(TEXTS),
            "hidden states": hidden, "hidden mask": mask,
            "maxsim scores": MaxSimIndex(["a", "b"], docs).scores(queries),
            "pooled scores": PooledIndex(["a", "b"], enc.encode_pooled(TEXTS)).scores(enc.encode_pooled(TEXTS))}


def test_everything_handed_back_is_on_the_cpu():
    for name, tensor in handed_back(load_encoder(device="cpu")).items():
        assert tensor.device.type == "cpu", name
        assert tensor.dtype in (torch.float32, torch.bool), name


@needs_cuda
def test_a_cuda_encoder_hands_back_cpu_tensors_equal_to_the_cpu_encoders():
    on_gpu, on_cpu = handed_back(load_encoder(device="cuda")), handed_back(load_encoder(device="cpu"))
    for name in on_cpu:
        assert on_gpu[name].device.type == "cpu", name
        torch.testing.assert_close(on_gpu[name].float(), on_cpu[name].float(), atol=2e-3, rtol=1e-3, msg=name)


@needs_cuda
def test_indexes_accept_tensors_on_any_device():
    enc = load_encoder(device="cpu")
    docs, queries, pooled = enc.encode_documents(TEXTS), enc.encode_queries(["potassium"]), enc.encode_pooled(TEXTS)
    on_cpu = MaxSimIndex(["a", "b"], docs).scores(queries)
    on_gpu = MaxSimIndex(["a", "b"], [d.cuda() for d in docs]).scores([q.cuda() for q in queries])
    assert on_gpu.device.type == "cpu"
    torch.testing.assert_close(on_gpu, on_cpu)
    torch.testing.assert_close(PooledIndex(["a", "b"], pooled.cuda()).scores(pooled.cuda()),
                               PooledIndex(["a", "b"], pooled).scores(pooled))
