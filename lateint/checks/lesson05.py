"""Checks for exercise 05 cost and speed (``notebooks/exercises/05_*.ipynb``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..lessons.compress import nbytes
from .harness import (
    Case,
    compare_tensor,
    failure,
    judge_answer,
    run_check,
    seeded_generator,
    unit_vectors,
)


def check_storage_bytes(fn: Callable[[Sequence[torch.Tensor], torch.dtype], tuple[int, int]]) -> None:
    """Check ``fn(doc_vectors, dtype) -> (maxsim_bytes, pooled_bytes)``.

    ``doc_vectors`` is one ``(L_i, dim)`` token matrix per document. ``maxsim_bytes``
    is what storing every token vector takes in ``dtype`` (no padding), ``pooled_bytes``
    what one vector per document takes: ``sum(L_i) * dim * size`` and ``n * dim * size``
    bytes, with ``size`` the bytes of one number (``torch.finfo(dtype).bits // 8``).
    """
    gen = seeded_generator(10)
    cases = []
    for name, lengths, dim, dtype in (
        ("3 documents of 4, 9 and 2 tokens, dim 8, float32", (4, 9, 2), 8, torch.float32),
        ("5 documents of 1 to 30 tokens, dim 16, float16", (1, 30, 7, 12, 3), 16, torch.float16),
        ("1 document of 5 tokens, dim 4, bfloat16", (5,), 4, torch.bfloat16),
    ):
        docs = [torch.randn(n, dim, generator=gen) for n in lengths]
        size = torch.finfo(dtype).bits // 8
        tokens = sum(lengths)
        cases.append(
            Case(
                name,
                (docs, dtype),
                (nbytes([d.to(dtype) for d in docs]), nbytes(torch.empty(len(docs), dim, dtype=dtype))),
                {
                    "these are bits, not bytes: divide by 8.": (tokens * dim * size * 8, len(docs) * dim * size * 8),
                    "these count numbers, not bytes: multiply by the bytes of one number in this dtype.": (
                        tokens * dim,
                        len(docs) * dim,
                    ),
                    "the token count is padded to the longest document; store each document's own tokens only.": (
                        max(lengths) * len(docs) * dim * size,
                        len(docs) * dim * size,
                    ),
                    "the two numbers are swapped: MaxSim's storage first, pooled second.": (
                        len(docs) * dim * size,
                        tokens * dim * size,
                    ),
                },
            )
        )
    run_check("check_storage_bytes", fn, cases, _compare_pair_of_ints, "every token x dim x bytes per number")


def _compare_pair_of_ints(check: str, got: Any, case: Case) -> None:
    try:
        pair = tuple(int(x) for x in got)
    except (TypeError, ValueError):
        raise failure(check, case, f"expected a pair (maxsim_bytes, pooled_bytes), got {got!r:.80}.") from None
    judge_answer(check, case, pair, lambda a, b: a == b, lambda a, b: f"got {a}, expected {b} bytes.")


def check_token_pooling(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    """Check ``fn(vectors (L, dim), factor) -> (ceil(L / factor), dim)``: adjacent token pooling.

    Each run of ``factor`` consecutive token vectors (the last run may be shorter) is
    replaced by its mean, L2-normalised.
    """
    gen = seeded_generator(11)
    cases = []
    for name, length, factor in (
        ("10 tokens, factor 2", 10, 2),
        ("10 tokens, factor 3 (the last group has 1 token)", 10, 3),
        ("7 tokens, factor 1 (nothing to pool)", 7, 1),
        ("3 tokens, factor 4 (one group)", 3, 4),
    ):
        vectors = unit_vectors(length, 6, gen=gen)
        groups = torch.split(vectors, factor)  # consecutive runs of `factor` tokens, the last may be shorter
        means = torch.stack([g.mean(dim=0) for g in groups])
        expected = torch.nn.functional.normalize(means, dim=-1)
        full = length // factor  # groups of exactly `factor` tokens
        cases.append(
            Case(
                f"{name}, unit token vectors",
                (vectors, factor),
                expected,
                {
                    "the group means are not L2-normalised: a mean of unit vectors is shorter than 1.": means,
                    "every factor-th token was kept instead of averaging each group: average the group.": vectors[
                        ::factor
                    ],
                    "the last, shorter group was dropped: keep it (ceil(L / factor) groups).": expected[:full],
                },
            )
        )
    run_check(
        "check_token_pooling",
        fn,
        cases,
        compare_tensor("(ceil(L / factor), dim)", unit_rows=True),
        "consecutive groups, remainder kept, normalised",
    )
