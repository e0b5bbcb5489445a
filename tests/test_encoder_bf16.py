"""The opt-in bf16 encoder: float32 CPU outputs within the stated tolerance of float32, cached apart."""
import os
import subprocess
import sys

import pytest
import torch

from lateint import load_encoder
from lateint.encoders import Encoder

TEXTS = ["Late interaction keeps one vector per token.", "MaxSim sums each query token's best match.",
         "A pooled vector averages a whole document into one point, diluting what one passage says."]


@pytest.fixture(scope="module")
def bf16_encoder():
    return load_encoder(dtype=torch.bfloat16)


def test_bf16_vectors_close_to_fp32_and_handed_back_as_fp32(encoder, bf16_encoder):
    """Each token vector within cosine 0.995 of float32's (the docstring's tolerance); float32 on the CPU."""
    assert "dtype=torch.bfloat16" in repr(bf16_encoder) and "dtype" not in repr(encoder)
    for kind in ("encode_documents", "encode_queries"):
        full, half = getattr(encoder, kind)(TEXTS), getattr(bf16_encoder, kind)(TEXTS)
        for a, b in zip(full, half):
            assert b.dtype == torch.float32 and b.device.type == "cpu" and a.shape == b.shape
            cos = (a * b).sum(-1)
            assert bool((cos > 0.995).all()), cos.min()
            assert not torch.equal(a, b)  # it really ran in bf16
    pooled = bf16_encoder.encode_pooled(TEXTS)
    assert pooled.dtype == torch.float32
    assert bool(((pooled * encoder.encode_pooled(TEXTS)).sum(-1) > 0.995).all())


def test_bf16_encoder_is_cached_apart_and_bad_dtype_refused(encoder, bf16_encoder):
    assert bf16_encoder.fingerprint != encoder.fingerprint  # the embedding cache never mixes the two
    with pytest.raises(ValueError, match="float32 or torch.bfloat16"):
        Encoder(bf16_encoder.model, bf16_encoder.tokenizer, bf16_encoder.format, dtype=torch.float16)


@pytest.mark.slow
@pytest.mark.parametrize("kernels", ["avx2", "default"])
def test_bf16_encodes_long_texts_where_the_cpu_kernels_lack_avx512(kernels):
    """torch's fused attention raises on bf16 texts of a few dozen tokens or more unless its kernels are AVX-512
    (an AMD EPYC without AVX-512 runs AVX2 kernels): the bf16 encoder must still encode there, close to fp32."""
    code = (
        "import torch\n"
        "from lateint import load_encoder\n"
        "text = ['Late interaction keeps one vector for every token of a document. ' * 12]\n"
        "full = load_encoder().encode_documents(text)[0]\n"
        "half = load_encoder(dtype=torch.bfloat16).encode_documents(text)[0]\n"
        "assert torch.backends.cpu.get_cpu_capability() != 'AVX512'\n"
        "assert len(half) > 100 and half.shape == full.shape, (half.shape, full.shape)\n"
        "print(float((full * half).sum(-1).min()))\n"
    )
    env = {**os.environ, "ATEN_CPU_CAPABILITY": kernels, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.split()[-1]) > 0.995
