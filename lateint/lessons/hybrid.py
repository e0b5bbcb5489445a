"""Hybrid retrieval: fuse a lexical run (BM25) with a neural one (MaxSim or pooled).

BM25 and MaxSim fail on different queries: BM25 needs the exact words, a neural
model knows that "heart attack" means "myocardial infarction" but can blur an exact
identifier. Fusing the two rankings is cheap and often beats both. Two classic ways:

* **Reciprocal rank fusion** (Cormack, Clarke & Buettcher, SIGIR 2009) uses only
  ranks, so the runs' score scales never need to agree::

      rrf(d) = sum over runs r of  1 / (k + rank_r(d))        (rank 1 = best, k = 60)

* **Score interpolation** first maps each query's scores into [0, 1] (min-max), then
  mixes them with one weight::

      score(d) = alpha * norm_a(d) + (1 - alpha) * norm_b(d)

  A document missing from one run gets 0 from it, the bottom of that run's range:
  the same as the worst document the run did retrieve.

Runs are the usual dictionaries ``{query id: {doc id: score}}`` (see
:mod:`lateint.metrics`), so the fused run is evaluated like any other.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from ..metrics import Qrels, Run, evaluate, metric_name, ranked_doc_ids

# What the functions accept: any mapping {query id: {doc id: score}}.
RunLike = Mapping[str, Mapping[str, float]]

__all__ = [
    "rrf",
    "minmax",
    "interpolate",
    "sweep_alpha",
    "best_alpha",
    "pick_best",
    "split_qrels",
    "held_out_fusion",
    "plot_alpha_sweep",
]


def _check_runs(runs: Sequence[RunLike]) -> None:
    if isinstance(runs, Mapping):
        raise TypeError("pass a list of runs, e.g. rrf([bm25_run, maxsim_run]), not one run")
    if len(runs) == 0:
        raise ValueError("got no runs to fuse; pass at least one {query id: {doc id: score}} dict")
    for i, run in enumerate(runs):
        if not isinstance(run, Mapping):
            raise TypeError(f"run {i} must be a dict {{query id: {{doc id: score}}}}, got {type(run).__name__}")


def rrf(
    runs: Sequence[RunLike],
    k: int = 60,
    depth: int | None = None,
    weights: Sequence[float] | None = None,
) -> Run:
    """Reciprocal rank fusion of several runs.

    Args:
        runs: runs to fuse; a query missing from a run simply gets nothing from it.
        k: the smoothing constant (60 in the original paper): larger k flattens the
            advantage of the very top ranks.
        depth: use only each run's top ``depth`` documents (default: all of them).
        weights: one multiplier per run (default: all 1).

    Returns:
        A run whose score for a document is ``sum_r weight_r / (k + rank_r)``.
    """
    _check_runs(runs)
    if not isinstance(k, (int, float)) or k < 0:
        raise ValueError(f"k must be a number >= 0, got {k!r}")
    if depth is not None and (not isinstance(depth, int) or depth < 1):
        raise ValueError(f"depth must be a positive int or None, got {depth!r}")
    weights = [1.0] * len(runs) if weights is None else list(weights)
    if len(weights) != len(runs):
        raise ValueError(f"got {len(weights)} weights for {len(runs)} runs; give one weight per run")
    fused: Run = {}
    for run, w in zip(runs, weights):
        for qid, doc_scores in run.items():
            out = fused.setdefault(qid, {})
            for rank, did in enumerate(ranked_doc_ids(doc_scores)[:depth], start=1):
                out[did] = out.get(did, 0.0) + w / (k + rank)
    return fused


def minmax(run: RunLike) -> Run:
    """Per query, rescale scores to [0, 1]: best document 1, worst 0 (all equal: all 1)."""
    _check_runs([run])
    out: Run = {}
    for qid, doc_scores in run.items():
        if not doc_scores:
            out[qid] = {}
            continue
        lo, hi = min(doc_scores.values()), max(doc_scores.values())
        span = hi - lo
        out[qid] = {did: (s - lo) / span if span > 0 else 1.0 for did, s in doc_scores.items()}
    return out


def interpolate(
    run_a: RunLike, run_b: RunLike, alpha: float = 0.5
) -> Run:
    """``alpha * minmax(run_a) + (1 - alpha) * minmax(run_b)``, per query and document.

    ``alpha = 1`` keeps ``run_a``'s ranking, ``alpha = 0`` keeps ``run_b``'s. A document
    missing from one run counts as that run's worst (0). Queries of either run are kept.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")
    a, b = minmax(run_a), minmax(run_b)
    fused: Run = {}
    for qid in list(a) + [q for q in b if q not in a]:
        sa, sb = a.get(qid, {}), b.get(qid, {})
        fused[qid] = {did: alpha * sa.get(did, 0.0) + (1 - alpha) * sb.get(did, 0.0) for did in {**sa, **sb}}
    return fused


def sweep_alpha(
    run_a: RunLike,
    run_b: RunLike,
    qrels: Qrels,
    alphas: Sequence[float],
    metric: str = "ndcg@10",
) -> list[float]:
    """``metric`` of :func:`interpolate` ``(run_a, run_b, alpha)`` for each alpha, in order.

    Only the queries of ``qrels`` are scored, so passing a subset of qrels measures
    the fusion on those queries only (see :func:`split_qrels`).
    """
    _check_alphas(alphas)
    name = metric_name(metric)
    return [evaluate(interpolate(run_a, run_b, a), qrels, [name])[name] for a in alphas]


def best_alpha(
    run_a: RunLike,
    run_b: RunLike,
    qrels: Qrels,
    alphas: Sequence[float],
    metric: str = "ndcg@10",
) -> float:
    """The alpha of ``alphas`` with the best ``metric`` on ``qrels`` (the first one on a tie)."""
    return pick_best(alphas, sweep_alpha(run_a, run_b, qrels, alphas, metric))


def _check_alphas(alphas: Sequence[float]) -> None:
    if len(alphas) == 0:
        raise ValueError("alphas is empty; pass e.g. [0, 0.25, 0.5, 0.75, 1]")


def pick_best(alphas: Sequence[float], values: Sequence[float]) -> float:
    """The alpha with the highest value; the first one on a tie."""
    return alphas[max(range(len(values)), key=lambda i: (values[i], -i))]


def split_qrels(qrels: Qrels, n_dev: int, seed: int = 0) -> tuple[Qrels, Qrels]:
    """Split judged queries into a small tuning set of ``n_dev`` and the rest, for testing.

    This is what a handful of labelled in-domain queries buys when there is too
    little to train a model: enough to choose one number (such as ``alpha``) on
    ``dev`` and measure it honestly on ``test``. Same seed, same split.
    """
    if not isinstance(n_dev, int) or isinstance(n_dev, bool) or not 1 <= n_dev < len(qrels):
        raise ValueError(f"n_dev must be an int between 1 and {len(qrels) - 1} (leaving test queries), got {n_dev!r}")
    dev_ids = set(random.Random(seed).sample(sorted(qrels), n_dev))
    dev = {q: dict(r) for q, r in qrels.items() if q in dev_ids}
    test = {q: dict(r) for q, r in qrels.items() if q not in dev_ids}
    return dev, test


def held_out_fusion(
    run_a: RunLike,
    run_b: RunLike,
    qrels: Qrels,
    n_dev: int,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    alphas: Sequence[float] = tuple(i / 10 for i in range(11)),
    metric: str = "ndcg@10",
) -> dict[str, dict[str, float]]:
    """Choose ``alpha`` on ``n_dev`` labelled queries, then score everything on the other queries.

    The honest protocol for "we have only a few labelled in-domain queries": they pick
    the fusion weight (:func:`best_alpha`), and only queries never looked at judge the
    result. Which queries land in the tuning set matters when there are few, so the
    split is repeated for each seed.

    Returns:
        ``{"split <seed>": row, ..., "mean": row}`` where a row is ``{"alpha": the chosen
        weight, "a": run_a, "b": run_b, "rrf": rrf([run_a, run_b]), "alpha=0.5":
        interpolate(..., 0.5), "tuned": interpolate(..., alpha)}``, each in ``metric`` on
        that split's test queries (the mean row averages the rows).
    """
    name = metric_name(metric)
    if len(seeds) == 0:
        raise ValueError("seeds is empty; pass at least one, e.g. (0, 1, 2)")
    _check_alphas(alphas)
    fused = {a: interpolate(run_a, run_b, a) for a in alphas}  # fused once, scored on every split
    fixed = {"rrf": rrf([run_a, run_b]), "alpha=0.5": interpolate(run_a, run_b, 0.5)}
    rows: dict[str, dict[str, float]] = {}
    for seed in seeds:
        dev, test = split_qrels(qrels, n_dev, seed)
        alpha = pick_best(alphas, [evaluate(fused[a], dev, [name])[name] for a in alphas])  # best_alpha on dev
        runs = {"a": run_a, "b": run_b, **fixed, "tuned": fused[alpha]}
        rows[f"split {seed}"] = {"alpha": alpha, **{k: evaluate(r, test, [name])[name] for k, r in runs.items()}}
    columns = next(iter(rows.values()))
    rows["mean"] = {c: sum(r[c] for r in rows.values()) / len(seeds) for c in columns}
    return rows


def plot_alpha_sweep(
    alphas: Sequence[float],
    values: Sequence[float],
    a_name: str,
    b_name: str,
    metric: str = "nDCG@10",
    marks: Mapping[str, float] | None = None,
    ax=None,
):
    """Line plot of a fusion sweep (from :func:`sweep_alpha`); ``marks`` adds labelled horizontal
    lines, e.g. ``{"RRF": 0.86}``, in the methods' colours where the label is a method name.

    Every point of a sweep is scored on the same queries, so its best point is tuned on them:
    the plot marks that point and says so in its title and legend (an optimistic
    figure: choose alpha on other queries, e.g. with :func:`held_out_fusion`, to report one).
    The legend sits below the axes, clear of the curve.

    Returns the matplotlib Axes.
    """
    from ..display.plots import line_compare, method_color, method_label

    if len(values) != len(alphas) or not alphas:
        raise ValueError(
            f"got {len(alphas)} alphas and {len(values)} values; pass sweep_alpha's output for the same alphas"
        )
    ax = line_compare(
        alphas,
        {f"{a_name} + {b_name} (interpolated)": values},
        xlabel=f"alpha (0 = only {b_name}, 1 = only {a_name})",
        ylabel=metric,
        title=f"Fusing {a_name} and {b_name}\n(best α picked on the very queries it is scored on)",
        ax=ax,
    )
    for i, ((label, value), style) in enumerate(zip((marks or {}).items(), ("--", ":", "-.", (0, (1, 3))))):
        ax.axhline(value, ls=style, lw=2, color=method_color(label, i + 1), label=method_label(label))
    best = pick_best(alphas, values)
    top = values[list(alphas).index(best)]
    ax.plot([best], [top], marker="*", ms=18, color="black", ls="none",
            label=f"best α = {best:g}: tuned on these test queries (optimistic)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize="small")
    return ax
