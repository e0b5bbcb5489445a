"""What the CPU can do fast: its vector units and whether it has native bf16.

bfloat16 (bf16) keeps float32's range with 8 bits of mantissa instead of 24. On a CPU with
native bf16 instructions (Intel's ``avx512_bf16`` and the AMX matrix units, ``amx_bf16``) a bf16
matrix product runs several times faster than float32; on a CPU without them (an AMD EPYC with
AVX2 only, say) bf16 still works in torch, but it is emulated and several times *slower* than
float32. :func:`cpu_features` says which case this machine is, so that a benchmark or a lesson
can name the CPU and take the bf16 path only where it pays.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import NamedTuple

import torch

__all__ = ["CpuFeatures", "cpu_features"]

#: The flags of ``/proc/cpuinfo`` that decide MaxSim's and encoding's speed, in the order they are named.
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
NAMES = {"avx2": "AVX2", "avx512f": "AVX-512", "avx512_bf16": "AVX512-BF16", "amx_bf16": "AMX-BF16"}


class CpuFeatures(NamedTuple):
    """The CPU as speed sees it.

    ``model``: the model name (``/proc/cpuinfo``); ``capability``: the vector code torch dispatches to
    (``torch.backends.cpu.get_cpu_capability()``: ``"AVX512"``, ``"AVX2"``, ``"DEFAULT"``...);
    ``flags``: those of :data:`FLAGS` the CPU has; ``native_bf16``: it has ``avx512_bf16`` or ``amx_bf16``.
    """

    model: str
    capability: str
    flags: tuple[str, ...]
    native_bf16: bool

    @property
    def kind(self) -> str:
        """A short name for tables kept per CPU kind: ``"amx"``, ``"avx512"``, ``"avx2"`` or ``"other"``."""
        for flag, name in (("amx_bf16", "amx"), ("avx512f", "avx512"), ("avx2", "avx2")):
            if flag in self.flags:
                return name
        return "other"

    def summary(self) -> str:
        """One line for a table: ``Intel(R) Xeon(R) ..., AVX-512 + AVX512-BF16 + AMX-BF16 (native bf16)``."""
        units = "AVX2 only" if self.flags == ("avx2",) else " + ".join(NAMES[f] for f in self.flags if f != "avx2")
        bf16 = "native bf16" if self.native_bf16 else "no native bf16: bf16 is emulated, slower than fp32"
        return f"{self.model}, {units or 'no AVX2'} ({bf16}; torch dispatches {self.capability})"


def cpu_features(cpuinfo: str | None = None) -> CpuFeatures:
    """This machine's CPU features (or those described by ``cpuinfo``, the text of ``/proc/cpuinfo``).

    Where ``/proc/cpuinfo`` cannot be read (not Linux), the flags are empty and bf16 counts as not
    native: the safe answer, since bf16 without native support is slower than float32, never wrong.
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    model, flags = platform.processor() or "unknown CPU", set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            model = value.strip()
        elif key.strip() == "flags":
            flags = set(value.split())
            break
    have = tuple(f for f in FLAGS if f in flags)
    return CpuFeatures(model, torch.backends.cpu.get_cpu_capability(), have,
                       "avx512_bf16" in flags or "amx_bf16" in flags)
