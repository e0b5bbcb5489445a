"""Ranking metrics: nDCG@k, Recall@k, MRR@k, Precision@k.

The two inputs use the usual TREC/BEIR dictionaries:

    run   = {query id: {doc id: score}}   higher score = ranked higher
    qrels = {query id: {doc id: grade}}   grade > 0 means relevant

Each metric is a small function of one query's ranked doc ids and its judgements,
so you can call it by hand (`ndcg_at_k(["d3", "d1"], {"d1": 2}, k=10)`). `evaluate`
averages them over queries.

Conventions (the same as trec_eval, so results match ir_measures/pytrec_eval):

* Ranking: by score, highest first; equal scores are ordered by doc id, *descending*
  (trec_eval's rule). Any fixed rule would do; this one makes ties reproducible and
  comparable with the standard tools.
* nDCG gain is the grade itself (not 2**grade - 1), discounted by log2(rank + 1); the
  ideal ranking sorts all judged documents of the query by grade.
* Recall, MRR and Precision count a document as relevant when its grade is >= 1.
  Precision@k divides by k even if fewer than k documents were retrieved.
* A query whose judgements hold no relevant document scores 0 on every metric.

Averaging: `evaluate` averages over *every query in qrels*; a query the run has no
entry for scores 0 (like `trec_eval -c` and ir_measures). BEIR's evaluation code
(pytrec_eval used directly) instead averages only over queries present in both, which
is kinder to a run that skips queries; pass `missing_as_zero=False` to get that.
Queries that are in the run but not in qrels are ignored.

Note on MRR with ties: ir_measures computes RR@k with the MS MARCO script, which
orders tied documents by doc id ascending, so on tied scores it can differ from
trec_eval's own reciprocal rank (and from this module). Without ties they agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

Run = dict[str, dict[str, float]]
Qrels = dict[str, dict[str, int]]


def ranked_doc_ids(doc_scores: Mapping[str, float]) -> list[str]:
    """Doc ids ordered best first: score descending, ties by doc id descending (trec_eval)."""
    return sorted(doc_scores, key=lambda did: (doc_scores[did], did), reverse=True)


# ---------------------------------------------------------------------------
# Per-query metrics: ranked_ids is a best-first list, rels is {doc id: grade}
# ---------------------------------------------------------------------------


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain: sum of gain_i / log2(i + 1) over ranks i = 1, 2, ..."""
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at_k(ranked_ids: Sequence[str], rels: Mapping[str, int], k: int) -> float:
    """DCG of the top k retrieved docs divided by the DCG of the best possible top k."""
    gains = [max(rels.get(did, 0), 0) for did in ranked_ids[:k]]
    ideal_gains = sorted((g for g in rels.values() if g > 0), reverse=True)[:k]
    ideal = dcg(ideal_gains)
    return dcg(gains) / ideal if ideal > 0 else 0.0


def recall_at_k(ranked_ids: Sequence[str], rels: Mapping[str, int], k: int) -> float:
    """Fraction of the relevant docs that appear in the top k."""
    relevant = {did for did, grade in rels.items() if grade > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked_ids[:k])) / len(relevant)


def mrr_at_k(ranked_ids: Sequence[str], rels: Mapping[str, int], k: int) -> float:
    """1 / rank of the first relevant doc in the top k (0 if there is none).

    Averaged over queries this is the Mean Reciprocal Rank, MRR@k (RR@k per query).
    """
    for rank, did in enumerate(ranked_ids[:k], start=1):
        if rels.get(did, 0) > 0:
            return 1.0 / rank
    return 0.0


def precision_at_k(ranked_ids: Sequence[str], rels: Mapping[str, int], k: int) -> float:
    """Number of relevant docs in the top k, divided by k."""
    return sum(1 for did in ranked_ids[:k] if rels.get(did, 0) > 0) / k


METRICS: dict[str, Callable[[Sequence[str], Mapping[str, int], int], float]] = {
    "ndcg": ndcg_at_k,
    "recall": recall_at_k,
    "mrr": mrr_at_k,
    "precision": precision_at_k,
}
ALIASES = {"r": "recall", "rr": "mrr", "p": "precision"}


def parse_metric(name: str) -> tuple[str, int]:
    """'nDCG@10' -> ('ndcg', 10). Case does not matter; R, RR and P are accepted aliases."""
    match = re.fullmatch(r"\s*([a-z]+)\s*@\s*(\d+)\s*", str(name).lower())
    base = match and ALIASES.get(match.group(1), match.group(1))
    if not match or base not in METRICS or int(match.group(2)) < 1:
        raise ValueError(
            f"unknown metric {name!r}; use one of {', '.join(METRICS)} with a cutoff k >= 1, "
            f"e.g. 'ndcg@10', 'recall@100', 'mrr@10', 'precision@5'"
        )
    return base, int(match.group(2))


def metric_name(name: str) -> str:
    """'nDCG@10' -> 'ndcg@10': the name :func:`evaluate` gives the metric in its result."""
    return "{}@{}".format(*parse_metric(name))


# ---------------------------------------------------------------------------
# Averaging over queries
# ---------------------------------------------------------------------------


def _check_run(run: Mapping[str, Mapping[str, float]]) -> None:
    if not isinstance(run, Mapping):
        raise TypeError(f"run must be a dict {{query id: {{doc id: score}}}}, got {type(run).__name__}")
    for qid, doc_scores in run.items():
        if not isinstance(doc_scores, Mapping):
            raise TypeError(f"run[{qid!r}] must be a dict {{doc id: score}}, got {type(doc_scores).__name__}")
        for did, score in doc_scores.items():
            if not isinstance(score, (int, float, np.number)) or math.isnan(score):
                raise ValueError(f"run[{qid!r}][{did!r}] is {score!r}; scores must be real numbers, not NaN")


def evaluate_per_query(
    run: Mapping[str, Mapping[str, float]],
    qrels: Mapping[str, Mapping[str, int]],
    metrics: Sequence[str] = ("ndcg@10", "recall@100", "mrr@10"),
    *,
    missing_as_zero: bool = True,
) -> dict[str, dict[str, float]]:
    """{query id: {metric: value}} for the queries of qrels (see the module docstring)."""
    if isinstance(metrics, str):
        metrics = [metrics]
    parsed = {f"{base}@{k}": (METRICS[base], k) for base, k in map(parse_metric, metrics)}
    if not parsed:
        raise ValueError("metrics is empty; ask for at least one, e.g. ['ndcg@10']")
    _check_run(run)
    if not qrels:
        raise ValueError("qrels is empty: there is nothing to evaluate against")
    if not any(qid in qrels for qid in run):
        raise ValueError(
            f"the run and qrels share no query id (run has e.g. {next(iter(run), None)!r}, qrels "
            f"e.g. {next(iter(qrels))!r}); check that both use the same ids, as strings"
        )
    results: dict[str, dict[str, float]] = {}
    for qid, rels in qrels.items():
        if qid not in run and not missing_as_zero:
            continue
        ranked = ranked_doc_ids(run.get(qid, {}))
        results[qid] = {name: fn(ranked, rels, k) for name, (fn, k) in parsed.items()}
    return results


def evaluate(
    run: Mapping[str, Mapping[str, float]],
    qrels: Mapping[str, Mapping[str, int]],
    metrics: Sequence[str] = ("ndcg@10", "recall@100", "mrr@10"),
    *,
    missing_as_zero: bool = True,
) -> dict[str, float]:
    """Mean of each metric over the queries of qrels, e.g. {"ndcg@10": 0.67, ...}.

    Metric names are case-insensitive: ndcg@k, recall@k (R@k), mrr@k (RR@k),
    precision@k (P@k); the result uses these lower-case names. A qrels query missing
    from the run counts as 0 unless missing_as_zero=False, which averages over the
    queries present in both (BEIR's convention).
    """
    per_query = evaluate_per_query(run, qrels, metrics, missing_as_zero=missing_as_zero)
    names = next(iter(per_query.values())).keys()
    return {name: sum(row[name] for row in per_query.values()) / len(per_query) for name in names}


# ---------------------------------------------------------------------------
# From a score matrix to a run
# ---------------------------------------------------------------------------


def run_depth(metrics: str | Sequence[str], at_least: int = 100) -> int:
    """Documents a run must keep per query to evaluate ``metrics``: their largest cutoff, at least ``at_least``."""
    if isinstance(metrics, str):
        metrics = [metrics]
    return max([at_least] + [parse_metric(m)[1] for m in metrics])


def evaluate_scores(scores, ds, metrics: str | Sequence[str] = ("ndcg@10",)) -> dict[str, float]:
    """Mean of each metric on dataset ``ds`` of a score matrix: :func:`run_from_scores`, then :func:`evaluate`.

    scores: ``(n_queries, n_docs)``, rows in the order of ``ds.query_ids``, columns of ``ds.doc_ids``;
    ``ds`` is a :class:`~lateint.data.BeirDataset` (anything with ``query_ids``, ``doc_ids``, ``qrels``).
    """
    run = run_from_scores(scores, ds.query_ids, ds.doc_ids, k=run_depth(metrics))
    return evaluate(run, ds.qrels, metrics)


class Hit(NamedTuple):
    """One search result: a document id and its score. Every search in lateint returns lists of these.

    A plain tuple underneath, so ``for doc_id, score in hits`` and ``dict(hits)`` work as with pairs.

    The search protocol, shared by ``MaxSimIndex``, ``PooledIndex``, ``BM25``, ``ChunkIndex``,
    ``two_stage_search`` and the Qdrant indexes: ``scores(queries)`` -> ``(n_queries, n_docs)`` scores
    (in-memory indexes); ``search(queries, k)`` -> one list of at most ``k`` hits per query, best first,
    equal scores ordered by doc id descending (:func:`top_k`); ``run(queries, query_ids, k)`` -> the
    same as a run ``{query id: {doc id: score}}`` for :func:`evaluate`. Every index returns
    ``min(k, n_docs)`` hits, except BM25, which leaves out documents that share no term with the
    query (score 0: not retrieved, as Lucene and Anserini do; padding with unmatched documents in id
    order would add documents at random to Recall@100).
    """

    doc_id: str
    score: float


def check_k(k: object) -> int:
    """``k`` (results per query) if it is a whole number of at least 1; otherwise a clear ValueError."""
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a whole number of at least 1 (results per query), got {k!r}.")
    return int(k)


def top_k(scores, doc_ids: Sequence[str], k: int, positions=None) -> list[list[Hit]]:
    """Each row's ``k`` best documents as :class:`Hit` ``(doc_id, score)`` pairs, best first.

    The ranking rule of :func:`ranked_doc_ids` (score descending, equal scores by doc id
    descending), so that a search, a run and its evaluation always agree on ties.

    scores:    ``(n_queries, n)`` torch.Tensor or numpy array
    doc_ids:   the ids of the columns (``n`` of them), or, with ``positions``, of every document
    positions: optional ``(n_queries, n)`` integers: column ``j`` of row ``i`` scores document
               ``doc_ids[positions[i, j]]`` (e.g. each query's candidates when re-ranking)
    """
    if hasattr(scores, "detach"):  # a torch tensor: no torch import needed for numpy users
        scores = scores.detach().cpu().double().numpy()
    scores = np.asarray(scores)
    if positions is not None:
        positions = np.asarray(positions.cpu() if hasattr(positions, "cpu") else positions)
        if positions.shape != scores.shape:
            raise ValueError(f"positions has shape {positions.shape} but scores {scores.shape}; they must match")
    elif scores.ndim != 2 or scores.shape[1] != len(doc_ids):
        raise ValueError(f"scores must have shape (n_queries, n_docs={len(doc_ids)}), got {scores.shape}")
    k = check_k(k)
    if len(set(doc_ids)) != len(doc_ids):
        raise ValueError("doc_ids contains duplicates; every id must be unique")
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN; fix the model output before ranking")
    doc_ids = list(doc_ids)
    # For ties: each doc id's place in sorted order (a later id ranks first, as in trec_eval).
    place = {did: i for i, did in enumerate(sorted(doc_ids))}
    id_place = np.array([place[did] for did in doc_ids])
    out = []
    for i, row in enumerate(scores):
        docs = np.arange(len(row)) if positions is None else positions[i]
        kk = min(k, len(row))
        # Cheap pre-selection: every column scoring at least the k-th best score...
        kth_best = np.partition(row, len(row) - kk)[len(row) - kk]
        candidates = np.flatnonzero(row >= kth_best)
        # ...then sort those by score descending, ties by doc id descending
        # (np.lexsort sorts by its last key first), and keep k.
        best = candidates[np.lexsort((-id_place[docs[candidates]], -row[candidates]))][:kk]
        out.append([Hit(doc_ids[docs[j]], float(row[j])) for j in best])
    return out


def run_from_scores(scores, query_ids: Sequence[str], doc_ids: Sequence[str], k: int = 100) -> Run:
    """Turn a score matrix into a run holding each query's top k documents.

    scores:    (n_queries, n_docs) torch.Tensor or numpy array; scores[i, j] scores
               doc_ids[j] for query_ids[i]
    k:         documents kept per query (all of them when k >= n_docs)

    Returns {query id: {doc id: score}} with the docs inserted best first. Ties at the
    k-th place are cut with the same rule as `ranked_doc_ids` (see :func:`top_k`), so
    evaluating this run at any cutoff <= k gives exactly what the full score matrix would.
    """
    if len(scores) != len(query_ids):
        raise ValueError(
            f"scores must have shape (n_queries, n_docs) = ({len(query_ids)}, {len(doc_ids)}), "
            f"got {tuple(scores.shape)}"
        )
    return run_from_hits(query_ids, top_k(scores, doc_ids, k))


def run_from_hits(query_ids: Sequence[str], hits: Sequence[Sequence[tuple[str, float]]]) -> Run:
    """A run ``{query id: {doc id: score}}`` from what a ``search`` returned (one hit list per query)."""
    if len(query_ids) != len(hits):
        raise ValueError(f"{len(query_ids)} query ids but {len(hits)} hit lists; they must align")
    if len(set(query_ids)) != len(query_ids):
        raise ValueError("query_ids contains duplicates; every id must be unique")
    return {qid: dict(row) for qid, row in zip(query_ids, hits)}
