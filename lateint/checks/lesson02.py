"""Checks for exercise 02 MaxSim by hand (``notebooks/exercises/02_*.ipynb``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..index import maxsim_scores
from ..similarity import explain, maxsim, pad
from .harness import (
    Case,
    compare_number,
    compare_tensor,
    failure,
    judge_answer,
    padded_batch,
    run_check,
    seeded_generator,
    unit_vectors,
)


def check_maxsim(fn: Callable[[torch.Tensor, torch.Tensor], float]) -> None:
    """Check ``fn(q (Lq, dim), d (Ld, dim)) -> number``: MaxSim of one query and one document.

    Reference: :func:`lateint.similarity.maxsim` (for each query token its best dot
    product with any document token, summed over query tokens).
    """
    gen = seeded_generator(3)
    q_hand = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    d_hand = torch.tensor([[0.6, 0.8], [1.0, 0.0], [0.0, -1.0]])
    q_neg = unit_vectors(3, 8, gen=gen)
    specs = [
        (
            "worked by hand: q = [[1,0],[0,1]], d = [[0.6,0.8],[1,0],[0,-1]] -> best matches 1.0 and 0.8, MaxSim 1.8",
            q_hand,
            d_hand,
        ),
        ("5 query tokens, 9 document tokens, random unit vectors", unit_vectors(5, 16, gen=gen), unit_vectors(9, 16, gen=gen)),
        ("1 query token", unit_vectors(1, 16, gen=gen), unit_vectors(7, 16, gen=gen)),
        ("1 document token", unit_vectors(4, 16, gen=gen), unit_vectors(1, 16, gen=gen)),
        ("more query tokens (8) than document tokens (3)", unit_vectors(8, 16, gen=gen), unit_vectors(3, 16, gen=gen)),
        (
            "every similarity is negative (the document points away from the query)",
            q_neg,
            -(q_neg[[0, 1, 2, 0]] + 0.1 * torch.randn(4, 8, generator=gen)),
        ),
        (
            "vectors that are not unit length: MaxSim uses the plain dot products",
            torch.randn(4, 16, generator=gen) * 2,
            torch.randn(6, 16, generator=gen) * 3,
        ),
    ]
    cases = []
    for name, q, d in specs:
        sim = q @ d.T
        nq, nd = (torch.nn.functional.normalize(x, dim=-1) for x in (q, d))
        cases.append(
            Case(
                name,
                (q, d),
                maxsim(q, d),
                {
                    "the max was taken over the wrong axis: for each DOCUMENT token you took its best query token. "
                    "MaxSim goes the other way: each QUERY token picks its best document token "
                    "((q @ d.T).max(dim=1)), then you sum.": sim.max(dim=0).values.sum().item(),
                    "the best matches were averaged; MaxSim adds them up (sum over query tokens).": sim.max(dim=1)
                    .values.mean()
                    .item(),
                    "all similarities were added up; keep only each query token's BEST match, then sum those.": sim.sum().item(),
                    "only the single best pair was kept; every query token contributes its own best match.": sim.max().item(),
                    "the vectors were normalised (cosine); MaxSim uses the plain dot product of the vectors it is "
                    "given (the encoder normalises them when it should).": maxsim(nq, nd),
                },
            )
        )
    run_check("check_maxsim", fn, cases, compare_number, "axis, sum, negative similarities, single tokens")


def check_maxsim_batched(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> None:
    """Check ``fn(Q (nq, Lq, dim), D (nd, Ld, dim), q_mask (nq, Lq), d_mask (nd, Ld)) -> (nq, nd)``.

    Reference: :func:`lateint.index.maxsim_scores`: every query against every
    document, padded positions ignored on both sides. Padded positions in the hidden
    batches hold vectors (as a model's output does), except in the case padded with
    zeros as :func:`lateint.similarity.pad` does, where all real similarities are negative.
    """
    gen = seeded_generator(4)
    cases = []
    specs = [
        (
            "3 queries (2, 5, 1 tokens) x 4 documents (6, 2, 9, 4 tokens); padded positions hold vectors",
            (2, 5, 1),
            (6, 2, 9, 4),
            True,
        ),
        ("1 query x 1 document, no padding", (4,), (7,), True),
        ("3 queries x 3 documents (square, so a transposed answer has the right shape)", (3, 1, 6), (5, 8, 2), True),
    ]
    for name, q_lens, d_lens, garbage in specs:
        Q, qm = padded_batch(q_lens, 12, gen, garbage)
        D, dm = padded_batch(d_lens, 12, gen, garbage)
        cases.append(_batched_case(name, Q, D, qm, dm))
    # Zero padding, all real similarities negative: a zero "similarity" at a padded position must not win.
    axis = torch.zeros(12)
    axis[0] = 3.0  # queries lean along +axis, documents along -axis: every real q . d < 0
    Q, qm = pad([unit_vectors(3, 12, gen=gen) * 0.3 + axis, unit_vectors(1, 12, gen=gen) * 0.3 + axis])
    D, dm = pad([unit_vectors(2, 12, gen=gen) * 0.3 - axis, unit_vectors(4, 12, gen=gen) * 0.3 - axis], length=7)
    Q, D = torch.nn.functional.normalize(Q, dim=-1), torch.nn.functional.normalize(D, dim=-1)
    cases.append(
        _batched_case(
            "documents pointing away from the queries (every real similarity < 0), padded with zeros like lateint.pad",
            Q,
            D,
            qm,
            dm,
        )
    )
    run_check(
        "check_maxsim_batched",
        fn,
        cases,
        compare_tensor("(n_queries, n_docs)"),
        "query and document padding masked, -inf before the max, sums",
    )


def _batched_case(name: str, Q, D, qm, dm) -> Case:
    expected = maxsim_scores(Q, D, qm, dm)
    lengths = qm.sum(dim=1, keepdim=True).float()
    zeroed = D * dm.unsqueeze(-1)
    return Case(
        name,
        (Q, D, qm, dm),
        expected,
        {
            "document padding was not masked: a padded document position can win a query token's max. Set "
            "padded positions to -inf before the max (masked_fill(~d_mask, float('-inf'))).": maxsim_scores(
                Q, D, qm, None
            ),
            "query padding was counted: every padded query position adds its best match, so short queries "
            "(more padding) score higher. Zero those positions out after the max, before the sum.": maxsim_scores(
                Q, D, None, dm
            ),
            "neither mask was applied: padded query positions add to the sum and padded document positions win "
            "maxes.": maxsim_scores(Q, D),
            "padded document positions were given similarity 0 (masked by multiplying) instead of -inf: when all "
            "real similarities are negative, the 0 wins the max.": maxsim_scores(Q, zeroed, qm, None),
            "the scores were divided by each query's number of tokens; MaxSim is the SUM of the best matches.": expected
            / lengths,
            "the scores were divided by the padded query length; MaxSim is the SUM of the best matches.": expected
            / Q.shape[1],
            "the answer is transposed: rows must be queries, columns documents.": expected.T,
        },
    )


def check_best_matches(fn: Callable[[torch.Tensor, torch.Tensor], Sequence[tuple[int, float]]]) -> None:
    """Check ``fn(q (Lq, dim), d (Ld, dim)) -> [(doc_position, similarity), ...]``, one pair per query token.

    Reference: :func:`lateint.similarity.explain` (its ``doc_position`` and ``similarity``).
    """
    gen = seeded_generator(5)
    cases = []
    for name, lq, ld in (
        ("4 query tokens, 10 document tokens", 4, 10),
        ("1 query token, 3 document tokens", 1, 3),
        ("6 query tokens, 2 document tokens (several query tokens pick the same one)", 6, 2),
    ):
        q, d = unit_vectors(lq, 8, gen=gen), unit_vectors(ld, 8, gen=gen)
        sim = q @ d.T
        expected = [(m.doc_position, m.similarity) for m in explain(q, d)]
        wrong_axis = sim.max(dim=0)
        cases.append(
            Case(
                name,
                (q, d),
                expected,
                {
                    "for each DOCUMENT token you found its best query token; the rows must follow the QUERY tokens: "
                    "for query token i, the document position j maximising q[i] . d[j].": list(
                        zip(wrong_axis.indices.tolist(), wrong_axis.values.tolist())
                    ),
                    "these are the worst matches (min), not the best (max).": list(
                        zip(sim.min(dim=1).indices.tolist(), sim.min(dim=1).values.tolist())
                    ),
                },
            )
        )
    run_check("check_best_matches", fn, cases, _compare_pairs, "one (doc position, similarity) per query token")


def _compare_pairs(check: str, got: Any, case: Case) -> None:
    """Compare a list of ``(int, float)`` pairs, e.g. best matches."""
    try:
        pairs = [(int(j), float(s)) for j, s in got]
    except (TypeError, ValueError):
        raise failure(check, case, f"expected a list of (doc_position, similarity) pairs, got {got!r:.120}.") from None

    def same(a, b):
        return len(a) == len(b) and all(i == j and math.isclose(s, t, abs_tol=1e-4) for (i, s), (j, t) in zip(a, b))

    def describe(got, expected):
        if len(got) != len(expected):
            return f"expected {len(expected)} pairs (one per query token), got {len(got)}."
        bad = next(i for i, (a, b) in enumerate(zip(got, expected)) if not same([a], [b]))
        return (
            f"query token {bad}: got {got[bad]}, expected {expected[bad]} "
            "(the document position with the highest dot product, and that dot product)."
        )

    judge_answer(check, case, pairs, same, describe)
