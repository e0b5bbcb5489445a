"""What a Qdrant collection of token vectors takes: storage kinds, bytes per point and Qdrant's overhead rule."""

from __future__ import annotations

import math

__all__ = ["STORAGES", "QDRANT_OVERHEAD", "bytes_per_point", "check_storage"]

STORAGES = ("float32", "float16", "int8", "binary")
"""How token vectors are stored: 4 or 2 bytes per number, or a quantised copy (1 byte or 1 bit per number)
searched first, with the float32 originals kept for re-scoring."""

QDRANT_OVERHEAD = 1.5
"""Qdrant's capacity-planning rule: vectors x 1.5 for metadata, indexes and optimisation
(https://qdrant.tech/documentation/guides/capacity-planning/)."""


def bytes_per_point(n_vectors: float, dim: int, storage: str = "float32", on_disk: bool = False) -> dict[str, float]:
    """Bytes that ``n_vectors`` vectors of ``dim`` numbers take in Qdrant, split into RAM and disk.

    ``float32`` / ``float16``: 4 or 2 bytes per number, in RAM, or on disk (read through the page cache)
    with ``on_disk``. ``int8`` / ``binary``: a quantised copy in RAM (1 byte, or 1 bit, per number) that
    search scans, plus the float32 originals for re-scoring, in RAM or on disk. Vectors only: multiply
    by :data:`QDRANT_OVERHEAD` for Qdrant's own estimate of a collection's needs.

    Returns:
        ``{"ram": bytes, "disk": bytes}``.
    """
    check_storage(storage)
    numbers = n_vectors * dim
    if storage in ("float32", "float16"):
        size = numbers * (4 if storage == "float32" else 2)
        return {"ram": 0.0 if on_disk else size, "disk": size if on_disk else 0.0}
    quantised = numbers if storage == "int8" else n_vectors * math.ceil(dim / 8)
    originals = numbers * 4
    return {"ram": quantised + (0.0 if on_disk else originals), "disk": originals if on_disk else 0.0}


def check_storage(storage: str) -> None:
    if storage not in STORAGES:
        raise ValueError(f"storage must be one of {STORAGES}, got {storage!r}.")
