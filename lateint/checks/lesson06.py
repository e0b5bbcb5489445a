"""Checks for exercise 06 where retrieval still breaks (``notebooks/exercises/06_*.ipynb``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from ..index import maxsim_scores
from ..lessons.perquery import Paired
from .harness import (
    Case,
    compare_ids,
    compare_tensor,
    padded_batch,
    run_check,
    seeded_generator,
)


def check_normalized_scores(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> None:
    """Check ``fn(Q, D, q_mask, d_mask) -> (nq, nd)``: MaxSim divided by each query's number of real tokens.

    The result is the average best-match similarity of a query's tokens, in [-1, 1]
    for unit vectors, so scores of different queries are comparable. Reference:
    :func:`lateint.index.maxsim_scores` divided by ``q_mask.sum(dim=1)``.
    """
    gen = seeded_generator(8)
    cases = []
    for name, q_lens, d_lens in (
        ("3 queries of 1, 4 and 9 tokens x 3 documents; padded positions hold vectors", (1, 4, 9), (5, 3, 8)),
        ("1 query of 6 tokens x 2 documents (no query padding)", (6,), (4, 7)),
        ("2 queries of 2 and 12 tokens x 4 documents", (2, 12), (3, 9, 1, 6)),
    ):
        Q, qm = padded_batch(q_lens, 10, gen)
        D, dm = padded_batch(d_lens, 10, gen)
        total = maxsim_scores(Q, D, qm, dm)
        lengths = qm.sum(dim=1, keepdim=True).float()
        cases.append(
            Case(
                name,
                (Q, D, qm, dm),
                total / lengths,
                {
                    "divided by the padded query length (the longest query in the batch), so a short query's "
                    "score shrinks with its batch neighbours; divide by its own number of real tokens "
                    "(q_mask.sum(dim=1)).": total / Q.shape[1],
                    "this is the raw MaxSim sum; divide each query's scores by its number of real tokens.": total,
                    "query padding was counted in the sum, then divided by the real length: padded positions "
                    "inflate short queries (mask them before summing).": maxsim_scores(Q, D, None, dm) / lengths,
                    "divided by the document's number of tokens; normalise by the QUERY's number of tokens.": total
                    / dm.sum(dim=1).float(),
                },
            )
        )
    run_check(
        "check_normalized_scores",
        fn,
        cases,
        compare_tensor("(n_queries, n_docs)"),
        "sum over real query tokens / their number",
    )


def check_largest_losses(fn: Callable[[Mapping[str, tuple[float, float]], int], Sequence[str]]) -> None:
    """Check ``fn(per_query, n) -> query ids``: where method b lost to method a by most.

    ``per_query`` maps query id -> ``(value under a, value under b)``. Return up to
    ``n`` ids with ``b < a``, largest loss first (ties by query id). Reference:
    :meth:`lateint.lessons.perquery.Paired.largest` with ``direction="losses"``.
    """
    gen = seeded_generator(9)
    cases = []
    for name, n_queries, n in (
        ("12 queries, ask for 3", 12, 3),
        ("6 queries, ask for 10 (fewer losses exist)", 6, 10),
        ("8 queries with equal losses, ask for 4 (ties by query id)", 8, 4),
    ):
        values = torch.rand(n_queries, 2, generator=gen).mul(4).round().div(4)  # steps of 0.25: ties happen
        if "equal" in name:
            values[:, 0], values[:, 1] = 1.0, torch.tensor([0.5, 1.0] * (n_queries // 2))
        per_query = {f"q{i:02d}": (float(a), float(b)) for i, (a, b) in enumerate(values.tolist())}
        paired = Paired("ndcg@10", per_query, (0.0, 0.0))
        expected = [q for q, _, _ in paired.largest(n, "losses")]
        every_loss = [q for q, _, _ in paired.largest(len(per_query), "losses")]
        cases.append(
            Case(
                name,
                (per_query, n),
                expected,
                {
                    "these are the largest WINS of b (b > a); the task asks where b lost (b < a).": [
                        q for q, _, _ in paired.largest(n, "wins")
                    ],
                    "smallest loss first; put the largest loss (a - b) first.": every_loss[::-1][:n],
                    "keep at most n query ids.": every_loss,
                },
            )
        )
    run_check("check_largest_losses", fn, cases, compare_ids, "losses only, largest first, at most n")
