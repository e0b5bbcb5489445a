"""The gap to perfect retrieval, split into *ranking* and *never retrieved* (lesson 06).

When the best method's nDCG@10 is 0.66, where is the missing 0.34? Either a relevant
document was retrieved (some method put it in its top ``depth``, e.g. top 100) but not
ranked high enough, which re-ranking or fusing the methods could still fix; or no method
retrieved it at all, and nothing downstream of these candidates can.

Inputs are the usual dictionaries (see :mod:`lateint.metrics`): ``runs`` maps a method
name to its run ``{query id: {doc id: score}}``, all on the same queries, and ``qrels``
is ``{query id: {doc id: grade}}`` (grade > 0 = relevant). "Retrieved by a method" means
in that run's top ``depth`` by :func:`lateint.metrics.ranked_doc_ids` (score, then doc
id, the rule everything in lateint ranks by); each run is cut to that depth before it is
scored, so every figure describes the same candidates.

Definitions (the metric is nDCG@10 unless you pass another; all values are means over the
queries of ``qrels``, computed by :func:`lateint.metrics.evaluate`):

* **union** of a query: every document some method ranks in its top ``depth``.
* **oracle run** (:func:`oracle_run`): for each query, the relevant documents of the
  union, highest grade first; nothing else. It is the best ranking any fusion or
  re-ranking of the union could produce, so its nDCG@10 (the **oracle nDCG@10**) is the
  ceiling for methods that only reorder these candidates.
* **never retrieved** (:func:`never_retrieved`): relevant judgements of a query that no
  method ranks in its top ``depth``.
* **the split** (:func:`gap_split`), for the best method (highest mean nDCG@10, the first
  in ``runs`` order on a tie) with score ``B``, its own oracle ``O_best`` (the oracle run
  of its top ``depth`` alone) and the union's oracle ``O``::

      1 - B  =  (O_best - B)      ranking: relevant, in the best method's own top depth, ranked too low
             +  (O - O_best)      ranking: relevant, retrieved only by another method
             +  (1 - O)           never retrieved by any method

  Each term is >= 0: an oracle ranks relevant documents first by grade, which no ranking
  of the same documents can beat, and the union holds the best method's candidates.
  With graded judgements (NFCorpus: 1 and 2), ``1 - O`` also counts a query whose
  retrieved relevant documents have lower grades than ones nobody retrieved.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..metrics import Qrels, Run, evaluate, metric_name, ranked_doc_ids

__all__ = ["top_of_runs", "oracle_run", "never_retrieved", "gap_split", "gap_table", "plot_gap"]

Runs = Mapping[str, Mapping[str, Mapping[str, float]]]


def _check(runs: Runs, qrels: Qrels, depth: int) -> None:
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth must be a positive int (documents retrieved per query, e.g. 100), got {depth!r}")
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError("runs must be a non-empty dict {method: {query id: {doc id: score}}}, e.g. retrieve_all(ds, enc)")
    if not qrels:
        raise ValueError("qrels is empty: there is nothing to measure the gap against")
    empty = [qid for qid, rels in qrels.items() if not any(g > 0 for g in rels.values())]
    if empty:
        raise ValueError(
            f"{len(empty)} queries of qrels have no relevant document (e.g. {empty[0]!r}); no method can be "
            "measured on them: drop them from qrels first"
        )


def top_of_runs(runs: Runs, depth: int) -> dict[str, Run]:
    """Each run cut to its top ``depth`` documents per query (what the method retrieved), scores kept."""
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth must be a positive int, got {depth!r}")
    return {
        name: {qid: {d: docs[d] for d in ranked_doc_ids(docs)[:depth]} for qid, docs in run.items()}
        for name, run in runs.items()
    }


def oracle_run(runs: Runs, qrels: Qrels, depth: int = 100) -> Run:
    """The best ranking that uses only documents some run retrieved (see the module docstring).

    Returns ``{query id: {doc id: grade}}`` for every query of ``qrels``: the relevant documents
    in the union of the runs' top ``depth``, scored by their grade, so they rank highest grade
    first (equal grades have equal gain, so how they tie-break does not change nDCG). A query
    none of whose relevant documents was retrieved gets an empty ranking (scores 0).
    """
    _check(runs, qrels, depth)
    cut = top_of_runs(runs, depth)
    oracle: Run = {}
    for qid, rels in qrels.items():
        union = set().union(*(run.get(qid, {}) for run in cut.values()))
        oracle[qid] = {d: float(g) for d, g in rels.items() if g > 0 and d in union}
    return oracle


def never_retrieved(runs: Runs, qrels: Qrels, depth: int = 100) -> dict[str, float | int]:
    """How many relevant judgements no run ranks in its top ``depth``.

    Returns ``{"relevant": n, "never retrieved": n, "share never retrieved": fraction,
    "queries with none retrieved": n}`` where ``relevant`` counts (query, document) pairs
    with grade > 0, and the last entry counts queries none of whose relevant documents any
    run retrieved.
    """
    oracle = oracle_run(runs, qrels, depth)
    relevant = missed = blind = 0
    for qid, rels in qrels.items():
        n_rel = sum(1 for g in rels.values() if g > 0)
        n_found = len(oracle[qid])
        relevant += n_rel
        missed += n_rel - n_found
        blind += n_found == 0
    return {
        "relevant": relevant,
        "never retrieved": missed,
        "share never retrieved": missed / relevant,
        "queries with none retrieved": blind,
    }


def _score(run: Run, qrels: Qrels, metric: str) -> float:
    return evaluate(run, qrels, [metric])[metric]


def gap_split(runs: Runs, qrels: Qrels, depth: int = 100, metric: str = "ndcg@10") -> dict[str, object]:
    """Split the best method's gap to a perfect score into ranking and never retrieved.

    Returns (``metric`` is e.g. ``"ndcg@10"``; all values are means over the queries of qrels)::

        {"best method": name, "best": B, "best reordered": O_best, "union reordered": O,
         "gap": 1 - B, "ranking, own top depth": O_best - B,
         "ranking, only another method": O - O_best, "never retrieved": 1 - O}

    where the three parts add up to ``gap`` (see the module docstring for the definitions).
    """
    metric = metric_name(metric)
    _check(runs, qrels, depth)
    cut = top_of_runs(runs, depth)
    scores = {name: _score(run, qrels, metric) for name, run in cut.items()}
    best = max(scores, key=lambda name: scores[name])  # max keeps the first of equal scores
    own = _score(oracle_run({best: cut[best]}, qrels, depth), qrels, metric)
    union = _score(oracle_run(cut, qrels, depth), qrels, metric)
    return {
        "best method": best,
        "best": scores[best],
        "best reordered": own,
        "union reordered": union,
        "gap": 1.0 - scores[best],
        "ranking, own top depth": own - scores[best],
        "ranking, only another method": union - own,
        "never retrieved": 1.0 - union,
    }


def gap_table(runs: Runs, qrels: Qrels, depth: int = 100, metric: str = "ndcg@10") -> dict[str, dict[str, float]]:
    """One row per method, and one for the union of all: its ``metric``, its oracle ``metric``
    (its top ``depth`` reordered, relevant first), and the share of relevant judgements in its
    top ``depth`` (Recall@depth). The union row has no ranking of its own, so no ``metric``.

    Returns ``{method or "union": {metric: B, "reordered": O, f"recall@{depth}": share}}``.
    """
    metric = metric_name(metric)
    _check(runs, qrels, depth)
    cut = top_of_runs(runs, depth)
    recall = f"recall@{depth}"
    table: dict[str, dict[str, float]] = {}
    for name, run in cut.items():
        table[name] = {
            metric: _score(run, qrels, metric),
            "reordered": _score(oracle_run({name: run}, qrels, depth), qrels, metric),
            recall: _score(run, qrels, recall),
        }
    oracle = oracle_run(cut, qrels, depth)
    table["union"] = {"reordered": _score(oracle, qrels, metric), recall: _score(oracle, qrels, recall)}
    return table


_PARTS = (  # (key of gap_split, legend label, colour)
    ("best", "best method's score", "#0072B2"),
    ("ranking, own top depth", "ranking: in its own top {depth}, ranked too low", "#56B4E9"),
    ("ranking, only another method", "ranking: only another method retrieved it", "#009E73"),
    ("never retrieved", "never retrieved by any method", "#D55E00"),
)


def plot_gap(splits: Mapping[str, Mapping[str, object]], depth: int = 100, metric: str = "nDCG@10", ax=None):
    """One stacked horizontal bar per dataset: the best method's score and the three parts of its
    gap (:func:`gap_split`), adding up to 1.

    Args:
        splits: ``{dataset label: gap_split(...)}``.
        depth: the depth the splits were computed at (for the legend).

    Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    from ..display.plots import method_label

    if not splits:
        raise ValueError("splits is empty; pass {dataset: gap_split(runs, qrels)}")
    missing = [name for name, s in splits.items() if any(key not in s for key, _, _ in _PARTS)]
    if missing:
        raise ValueError(f"{missing} are not gap_split(...) results (they lack {[k for k, _, _ in _PARTS]})")
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 0.9 * len(splits) + 2.2))
    labels = [f"{name}\nbest: {method_label(str(s['best method']))}" for name, s in splits.items()]
    left = [0.0] * len(splits)
    for key, label, colour in _PARTS:
        values = [float(s[key]) for s in splits.values()]
        bars = ax.barh(labels, values, left=left, color=colour, label=label.format(depth=depth))
        ax.bar_label(bars, labels=[f"{v:.2f}" if v >= 0.04 else "" for v in values], label_type="center",
                     color="white", fontsize=11)
        left = [a + b for a, b in zip(left, values)]
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"{metric} (1 = perfect)")
    ax.set_title(f"Where the best method's {metric} gap comes from")
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, fontsize="small")
    return ax

