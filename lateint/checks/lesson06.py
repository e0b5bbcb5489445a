"""Checks for exercise 06 where retrieval still breaks (``notebooks/exercises/06_*.ipynb``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from ..index import maxsim_scores
from ..lessons.perquery import Paired, bootstrap_interval, ratio_interval
from .harness import (
    UNPAIRED,
    Case,
    compare_choice,
    compare_ids,
    compare_paired_interval,
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


def check_ranking_share(fn: Callable[[Sequence[float], Sequence[float], int, int], tuple[float, float, float]]) -> None:
    """Check ``fn(best, reordered, n_resamples, seed) -> (share, lo, hi)``: the share of a method's gap to a
    perfect score that is *ranking* (relevant documents it retrieved but ranked too low), with its 95% bootstrap
    interval.

    ``best[i]`` is query i's nDCG@10 under the method, ``reordered[i]`` that of its own candidates reordered
    relevant first (:func:`lateint.lessons.gap.oracle_run`). The share is ``sum(reordered - best) /
    sum(1 - best)``, a ratio of sums; the interval resamples the queries once per draw for both sums.
    Reference: :func:`lateint.lessons.perquery.ratio_interval`.
    """
    rng = np.random.default_rng(6)
    cases = []
    for name, n, perfect in (
        ("25 queries, a few ranked perfectly (no gap)", 25, 4),
        ("15 queries, most relevant documents never retrieved", 15, 2),
    ):
        best = rng.uniform(0.1, 0.9, n)
        best[:perfect] = 1.0
        reach = 0.8 if "most" not in name else 0.3  # how much of each gap the candidates could close
        reordered = np.minimum(1.0, best + (1 - best) * np.clip(rng.normal(reach, 0.2, n), 0, 1))
        num, den = reordered - best, 1 - best
        expected = ratio_interval(num, den, 10_000, 0)
        has_gap = den > 0
        per_query = num[has_gap] / den[has_gap]
        mistakes = {
            "that is the share NEVER retrieved (1 - reordered); the task asks for the ranking part "
            "(reordered - best).": (1 - expected[0], 1 - expected[2], 1 - expected[1]),
            "that is the mean of the per-query shares; take the ratio of the sums (a query with a small gap "
            "should weigh little, one with no gap nothing).": (float(per_query.mean()),
                                                                *bootstrap_interval(per_query, 10_000, 0)),
            "that is the mean ranking part, not its share of the gap: divide by the sum of (1 - best).": (
                float(num.mean()), *bootstrap_interval(num, 10_000, 0)),
        }
        cases.append(Case(f"{name} (10,000 resamples, seed 0)", ([float(x) for x in best], [float(x) for x in reordered],
                                                                  10_000, 0), expected, mistakes))
    run_check("check_ranking_share", fn, cases, compare_paired_interval(UNPAIRED), "ratio of sums, paired resamples")


REMEDIES = ("re-rank the candidates", "retrieve more candidates", "cannot tell")


def check_gap_remedy(fn: Callable[[float, float, float], str]) -> None:
    """Check ``fn(share, lo, hi) -> remedy``, from the ranking share of the gap and its 95% interval: "re-rank
    the candidates" when the whole interval is above one half (most of the gap is relevant documents already
    retrieved, ranked too low), "retrieve more candidates" when it is all below one half (most of the gap was
    never retrieved), else "cannot tell"."""
    cases = []
    for name, (share, lo, hi), right in (
        ("an interval above one half", (0.8, 0.7, 0.9), REMEDIES[0]),
        ("a share below one half, an interval containing it", (0.4, 0.2, 0.55), REMEDIES[2]),
        ("an interval below one half", (0.3, 0.2, 0.45), REMEDIES[1]),
        ("a share above one half, an interval containing it", (0.6, 0.4, 0.8), REMEDIES[2]),
        ("an interval ending exactly at one half", (0.3, 0.1, 0.5), REMEDIES[2]),
    ):
        mistakes = {}
        if right != REMEDIES[2]:
            mistakes["the remedies are swapped: a large ranking share means the relevant documents are among the "
                     "candidates, so re-ranking them can help; a small one means they were never retrieved."] = (
                REMEDIES[1] if right == REMEDIES[0] else REMEDIES[0])
        by_share = REMEDIES[0] if share > 0.5 else REMEDIES[1]
        if by_share != right:
            mistakes["the remedy followed the share alone; the interval decides: only when it excludes one half "
                     "do the queries say which part of the gap is larger."] = by_share
        if lo > 0 and right != REMEDIES[0]:
            mistakes["compare with one half, not 0: a share is never below 0, and the question is which part of "
                     "the gap is the larger."] = REMEDIES[0]
        cases.append(Case(f"{name}: share {share}, interval {lo} to {hi}", (share, lo, hi), right, mistakes))
    run_check("check_gap_remedy", fn, cases, compare_choice(REMEDIES), "what the ranking share's interval says to do")

