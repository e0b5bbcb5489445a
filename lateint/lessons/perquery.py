"""Compare two runs query by query: wins, losses, and whether the mean gap is noise.

A single averaged number ("MaxSim nDCG@10 0.62, pooled 0.58") hides two things a
lesson-size slice makes important: *which* queries moved, and whether the gap is
larger than what the choice of queries alone would produce. :func:`paired` answers
both for two runs on the same queries:

* per query, the metric under each run and the difference ``b - a``;
* wins / losses / ties of ``b`` over ``a``;
* a 95% bootstrap confidence interval of the mean difference: resample the queries
  with replacement many times and look at the spread of the resampled means. If the
  interval contains 0, the slice cannot tell the two runs apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..metrics import Qrels, evaluate_per_query, metric_name, ranked_doc_ids

__all__ = ["Paired", "bootstrap_interval", "halves", "paired", "ratio_interval", "relative_gain", "promoted", "plot_paired"]


@dataclass(frozen=True)
class Paired:
    """Two runs compared on the same queries with one metric.

    per_query: query id -> (value under a, value under b), in qrels order
    ci:        95% bootstrap interval of the mean of ``b - a``
    """

    metric: str
    per_query: dict[str, tuple[float, float]]
    ci: tuple[float, float]

    @property
    def mean_a(self) -> float:
        return float(np.mean([a for a, _ in self.per_query.values()]))

    @property
    def mean_b(self) -> float:
        return float(np.mean([b for _, b in self.per_query.values()]))

    @property
    def mean_delta(self) -> float:
        return self.mean_b - self.mean_a

    @property
    def wins(self) -> int:
        """Queries where b scores higher than a."""
        return sum(b > a for a, b in self.per_query.values())

    @property
    def losses(self) -> int:
        """Queries where b scores lower than a."""
        return sum(b < a for a, b in self.per_query.values())

    @property
    def ties(self) -> int:
        return len(self.per_query) - self.wins - self.losses

    def largest(self, n: int = 3, direction: str = "wins") -> list[tuple[str, float, float]]:
        """The ``n`` queries where b beat a by most (``"wins"``) or lost by most (``"losses"``):
        ``(query id, value a, value b)``, largest gap first; only real wins / losses."""
        if direction not in ("wins", "losses"):
            raise ValueError(f"direction must be 'wins' or 'losses', got {direction!r}")
        sign = 1 if direction == "wins" else -1
        rows = [(q, a, b) for q, (a, b) in self.per_query.items() if sign * (b - a) > 0]
        return sorted(rows, key=lambda r: (-sign * (r[2] - r[1]), r[0]))[:n]

    def summary(self, a_name: str = "a", b_name: str = "b") -> str:
        """One line: means, the difference with its 95% interval, and wins/losses/ties."""
        lo, hi = self.ci
        return (
            f"{self.metric} over {len(self.per_query)} queries: {a_name} {self.mean_a:.3f}, {b_name} {self.mean_b:.3f}; "
            f"{b_name} - {a_name} = {self.mean_delta:+.3f} (95% CI {lo:+.3f} to {hi:+.3f}); "
            f"{b_name} wins {self.wins}, loses {self.losses}, ties {self.ties}"
        )


def paired(
    run_a: Mapping[str, Mapping[str, float]],
    run_b: Mapping[str, Mapping[str, float]],
    qrels: Qrels,
    metric: str = "ndcg@10",
    n_resamples: int = 2000,
    seed: int = 0,
) -> Paired:
    """Compare ``run_b`` against ``run_a`` query by query (see the module docstring).

    Args:
        run_a, run_b: runs ``{query id: {doc id: score}}`` over the same queries.
        qrels: the judgements; every query of qrels is compared (missing from a run = 0).
        metric: one metric name, e.g. ``"ndcg@10"``.
        n_resamples: bootstrap resamples of the queries.
        seed: the same seed always gives the same interval.
    """
    name = metric_name(metric)
    if not isinstance(n_resamples, int) or n_resamples < 100:
        raise ValueError(f"n_resamples must be an int of at least 100, got {n_resamples!r}")
    a = evaluate_per_query(run_a, qrels, [name])
    b = evaluate_per_query(run_b, qrels, [name])
    per_query = {q: (a[q][name], b[q][name]) for q in a}
    deltas = np.array([vb - va for va, vb in per_query.values()])
    return Paired(name, per_query, bootstrap_interval(deltas, n_resamples, seed))


def bootstrap_interval(deltas, n_resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """The 95% bootstrap interval ``(lo, hi)`` of the mean of ``deltas`` (one number per query).

    Resample the queries with replacement ``n_resamples`` times (``numpy.random.default_rng(seed)``),
    take each resample's mean, and keep the 2.5th and 97.5th percentiles of those means.
    """
    deltas = np.asarray(deltas, dtype=float)
    if deltas.ndim != 1 or len(deltas) == 0:
        raise ValueError(f"deltas must be a non-empty list of numbers (one per query), got shape {deltas.shape}")
    rng = np.random.default_rng(seed)
    means = deltas[rng.integers(0, len(deltas), size=(n_resamples, len(deltas)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def ratio_interval(num, den, n_resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """``(ratio, lo, hi)``: ``sum(num) / sum(den)`` over the queries and its 95% bootstrap interval.

    ``num`` and ``den`` hold one number per query (e.g. the part of each query's gap that is ranking, and
    its whole gap). A resample draws the queries with replacement *once* and sums both over the same draw
    (paired), so each resampled ratio is of one set of queries; the ends are the 2.5th and 97.5th
    percentiles. A ratio of sums, not a mean of per-query ratios: a query with no gap weighs nothing
    instead of dividing by zero.
    """
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    if num.ndim != 1 or num.shape != den.shape or len(num) == 0:
        raise ValueError(f"num and den must be non-empty lists of the same length (one number per query), got "
                         f"shapes {num.shape} and {den.shape}")
    if den.sum() <= 0:
        raise ValueError("the denominators sum to 0 or less: there is nothing to divide (e.g. no query has a gap)")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(num), size=(n_resamples, len(num)))
    sums = den[idx].sum(axis=1)
    ratios = num[idx].sum(axis=1) / np.where(sums > 0, sums, np.nan)  # a draw of gap-free queries has no ratio
    lo, hi = np.nanpercentile(ratios, [2.5, 97.5])
    return float(num.sum() / den.sum()), float(lo), float(hi)


def halves(values: Mapping[str, float], by: Mapping[str, float]) -> tuple[float, float]:
    """``(mean above, mean at or below)``: the mean of ``values`` over the queries whose ``by`` is above the
    median of ``by``, and over the others (at or below it). Only queries in both are used.

    E.g. ``values`` MaxSim − pooled per query and ``by`` each query's word overlap with its relevant documents:
    does MaxSim gain more where the query's words appear in its answers?
    """
    common = sorted(set(values) & set(by))
    if len(common) < 2:
        raise ValueError(f"need at least 2 queries in both values and by, got {len(common)}")
    median = float(np.median([by[q] for q in common]))
    above = [values[q] for q in common if by[q] > median]
    rest = [values[q] for q in common if by[q] <= median]
    if not above:
        raise ValueError("every query's `by` is at or below the median (all equal?): the queries cannot be halved")
    return sum(above) / len(above), sum(rest) / len(rest)


def relative_gain(base: float, other: float) -> float:
    """``(other - base) / base``: 0.10 means ``other`` is 10% better than ``base``."""
    if base <= 0:
        raise ValueError(f"the base value must be positive to compute a relative gain, got {base!r}")
    return (other - base) / base


def promoted(
    run_a: Mapping[str, Mapping[str, float]],
    run_b: Mapping[str, Mapping[str, float]],
    qid: str,
    qrels: Qrels,
    relevant: bool,
    k: int = 10,
) -> tuple[str, int, int] | None:
    """The document of ``run_b``'s top ``k`` that ``run_b`` lifted most above its place in ``run_a``.

    With ``relevant=True`` only relevant documents (grade > 0) are considered: what made
    ``b`` win. With ``relevant=False`` only non-relevant ones: what pushed the right
    answers down when ``b`` lost.

    Returns:
        ``(doc id, rank in a, rank in b)`` (1 = first; a document ``run_a`` did not
        retrieve has rank ``len(run_a[qid]) + 1``), or ``None`` if no such document
        moved up.
    """
    if qid not in run_b:
        raise ValueError(f"query {qid!r} is not in run_b")
    rels = qrels.get(qid, {})
    rank_a = {d: i for i, d in enumerate(ranked_doc_ids(run_a.get(qid, {})), start=1)}
    missing = len(rank_a) + 1
    best = None
    for rank_b, did in enumerate(ranked_doc_ids(run_b[qid])[:k], start=1):
        if (rels.get(did, 0) > 0) != relevant:
            continue
        lift = rank_a.get(did, missing) - rank_b
        if lift > 0 and (best is None or lift > best[1] - best[2]):
            best = (did, rank_a.get(did, missing), rank_b)
    return best


def plot_paired(p: Paired, a_name: str, b_name: str, ax=None, title: str = ""):
    """Scatter of the per-query values: ``a`` across, ``b`` up, one dot per query.

    Dots above the diagonal are queries ``b`` wins; identical pairs are stacked, so
    their count is written next to them. The title counts wins, losses and ties, under
    ``title`` if given (name the dataset there). Returns the matplotlib Axes.
    """

    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5.5))
    points = Counter((round(a, 3), round(b, 3)) for a, b in p.per_query.values())
    xs, ys = zip(*points)
    ax.scatter(xs, ys, s=[40 + 15 * n for n in points.values()], alpha=0.6, color="#0072B2", edgecolor="black")
    for (x, y), n in points.items():
        if n > 1:
            ax.annotate(f"x{n}", (x, y), textcoords="offset points", xytext=(6, -12), fontsize="small")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1.5)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel(f"{a_name}: {p.metric} per query")
    ax.set_ylabel(f"{b_name}: {p.metric} per query")
    counts = f"{b_name} wins {p.wins}, loses {p.losses}, ties {p.ties}"
    ax.set_title(f"{title}\n{counts}" if title else counts)
    return ax
