"""Checks for exercise 08 production (``notebooks/exercises/08_production.ipynb``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..engines.qdrant import bytes_per_point
from .harness import Case, failure, judge_answer, run_check


def check_point_bytes(fn: Callable[[int, int, str, bool], dict[str, float]]) -> None:
    """Check ``fn(n_vectors, dim, storage, on_disk) -> {"ram": bytes, "disk": bytes}``.

    What Qdrant keeps for one multi-vector point of ``n_vectors`` vectors of ``dim`` numbers, as
    :func:`lateint.engines.qdrant.bytes_per_point` counts it: ``float32`` / ``float16`` store 4 / 2
    bytes per number, in RAM or, with ``on_disk``, on disk; ``int8`` / ``binary`` keep a quantised
    copy in RAM (1 byte per number; 1 bit per number, each vector rounded up to whole bytes) plus the
    float32 originals, in RAM or on disk.
    """
    cases = []
    for n, dim, storage, on_disk in (
        (243, 384, "float32", False),
        (243, 384, "float32", True),
        (100, 128, "float16", False),
        (100, 128, "int8", True),
        (7, 96, "int8", False),
        (243, 384, "binary", True),
        (5, 12, "binary", True),  # 12 bits: 2 bytes per vector, not 1.5
    ):
        numbers = n * dim
        originals = {"ram": 0.0, "disk": numbers * 4.0} if on_disk else {"ram": numbers * 4.0, "disk": 0.0}
        mistakes: dict[str, dict[str, float]] = {}
        if storage in ("float32", "float16"):
            size = 4 if storage == "float32" else 2
            mistakes["on_disk was ignored: with on_disk=True the vectors go to disk, and RAM holds none of them."] = {
                "ram": float(numbers * size), "disk": 0.0}
            mistakes["the bytes are in the wrong place: RAM without on_disk, disk with it."] = {
                "ram": float(numbers * size) if on_disk else 0.0, "disk": 0.0 if on_disk else float(numbers * size)}
            if storage == "float16":
                mistakes["float16 takes 2 bytes per number, not 4."] = {
                    k: v * 2 for k, v in bytes_per_point(n, dim, storage, on_disk=on_disk).items()}
        else:
            quantised = numbers if storage == "int8" else n * math.ceil(dim / 8)
            mistakes["the float32 originals were left out: Qdrant keeps them (RAM or disk) to re-score with."] = {
                "ram": float(quantised), "disk": 0.0}
            mistakes["the quantised copy was left out: it lives in RAM, beside the originals."] = dict(originals)
            mistakes["the quantised copy was put on disk too: only the originals move with on_disk."] = {
                "ram": originals["ram"], "disk": originals["disk"] + quantised}
            if storage == "binary":
                mistakes["binary keeps 1 bit per number, not 1 byte: divide the numbers by 8."] = {
                    "ram": numbers + originals["ram"], "disk": originals["disk"]}
                if dim % 8:
                    mistakes[f"a vector's bits are stored in whole bytes: {dim} bits take {math.ceil(dim / 8)} bytes, "
                             f"not {dim / 8} (round up per vector)."] = {
                        "ram": numbers / 8 + originals["ram"], "disk": originals["disk"]}
        disk = " on disk" if on_disk else ""
        cases.append(Case(f"{n} vectors of {dim} numbers, {storage}{disk}", (n, dim, storage, on_disk),
                          bytes_per_point(n, dim, storage, on_disk=on_disk), mistakes))
    run_check("check_point_bytes", fn, cases, _compare_ram_disk, "RAM and disk bytes of every storage setting")


def _compare_ram_disk(check: str, got: Any, case: Case) -> None:
    try:
        pair = {"ram": float(got["ram"]), "disk": float(got["disk"])}
    except (TypeError, KeyError, ValueError, IndexError):
        raise failure(check, case, f'expected a dict {{"ram": bytes, "disk": bytes}}, got {got!r:.80}.') from None

    def same(a: dict[str, float], b: dict[str, float]) -> bool:
        return all(math.isclose(a[k], b[k], rel_tol=1e-9, abs_tol=1e-6) for k in ("ram", "disk"))

    judge_answer(check, case, pair, same,
                 lambda a, b: f"got {a['ram']:,.0f} bytes in RAM and {a['disk']:,.0f} on disk, "
                              f"expected {b['ram']:,.0f} and {b['disk']:,.0f}.")
