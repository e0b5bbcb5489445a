"""Checks for exercise 04 out of domain (``notebooks/exercises/04_*.ipynb``)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..metrics import recall_at_k
from ..lessons.domain import fragmentation
from ..lessons.hybrid import pick_best, rrf
from ..lessons.perquery import bootstrap_interval, halves
from .harness import (
    Case,
    UNPAIRED,
    compare_paired_interval,
    compare_number,
    default_encoder,
    failure,
    judge_answer,
    run_check,
    seeded_generator,
)


def check_recall_at_k(fn: Callable[[Sequence[str], Mapping[str, int], int], float]) -> None:
    """Check ``fn(ranked_ids, rels, k) -> float``: the fraction of the relevant documents in the top k.

    Reference: :func:`lateint.metrics.recall_at_k` (relevant = grade >= 1).
    """
    ids = [f"doc{i}" for i in range(20)]
    specs = [
        ("2 relevant documents, both in the top 10", ids[:10], {"doc1": 1, "doc6": 2}, 10),
        ("3 relevant documents, one in the top 5, k = 5", ids[:10], {"doc0": 1, "doc7": 1, "doc9": 1}, 5),
        (
            "judged documents with grade 0 (not relevant) are retrieved",
            ids[:10],
            {"doc0": 0, "doc1": 0, "doc2": 1, "doc15": 1},
            10,
        ),
        ("12 relevant documents, k = 10: at most 10 of them fit", ids, {d: 1 for d in ids[:12]}, 10),
        ("a relevant document at rank 15, past k = 10", ids, {"doc3": 1, "doc14": 1}, 10),
        ("no relevant document in the judgements: recall is 0, not an error", ids[:10], {"doc0": 0}, 10),
    ]
    cases = []
    for name, ranked, rels, k in specs:
        relevant = [d for d, g in rels.items() if g > 0]
        judged = list(rels)
        found = len(set(relevant) & set(ranked[:k]))
        cases.append(
            Case(
                name,
                (ranked, rels, k),
                recall_at_k(ranked, rels, k),
                {
                    "this is precision@k (divided by k); recall divides by the number of relevant documents.": found
                    / k,
                    "divided by min(k, number relevant): that is 'capped recall' (BEIR's R_cap), not recall.": found
                    / max(1, min(k, len(relevant))),
                    "judged documents with grade 0 were counted as relevant; relevant means grade >= 1.": len(
                        set(judged) & set(ranked[:k])
                    )
                    / max(1, len(judged)),
                    "no cut-off: only the top k documents count.": len(set(relevant) & set(ranked))
                    / max(1, len(relevant)),
                },
            )
        )
    run_check("check_recall_at_k", fn, cases, compare_number, "cut-off, grades, denominator")


def check_rrf(fn: Callable[[Sequence[Mapping[str, Mapping[str, float]]]], Mapping[str, Mapping[str, float]]]) -> None:
    """Check ``fn(runs) -> run``: reciprocal rank fusion with k = 60.

    ``runs`` is a list of runs ``{query id: {doc id: score}}``; the fused score of a
    document is ``sum over runs of 1 / (60 + rank)``, rank 1 = best. Reference:
    :func:`lateint.lessons.hybrid.rrf`.
    """
    gen = seeded_generator(7)
    docs = [f"d{i}" for i in range(12)]
    cases = []
    for name, n_runs, depth in (
        ("2 runs of 8 documents for 2 queries, partly overlapping", 2, 8),
        ("3 runs: BM25-like scores (0-30) and cosines (0-1) on different scales", 3, 10),
        ("1 run: fusion keeps its order", 1, 6),
    ):
        runs = []
        for r in range(n_runs):
            scale = 30.0 if r == 0 else 1.0
            run = {}
            for qid in ("q1", "q2"):
                chosen = torch.randperm(len(docs), generator=gen)[:depth].tolist()
                run[qid] = {docs[j]: round(scale * torch.rand(1, generator=gen).item(), 4) for j in chosen}
            runs.append(run)
        cases.append(
            Case(
                name,
                (runs,),
                rrf(runs, k=60),
                {
                    "ranks must start at 1 for the best document (1 / (60 + 1)), not 0.": rrf(runs, k=59),
                    "the constant k was left out: use 1 / (60 + rank).": rrf(runs, k=0),
                    "the scores were added, not the reciprocal ranks: RRF uses only each document's RANK in each "
                    "run.": _sum_runs(runs),
                },
            )
        )
    run_check("check_rrf", fn, cases, _compare_runs, "1 / (60 + rank), summed over runs")


def _sum_runs(runs: Sequence[Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for run in runs:
        for qid, scores in run.items():
            for did, s in scores.items():
                out.setdefault(qid, {})[did] = out.get(qid, {}).get(did, 0.0) + s
    return out


def _compare_runs(check: str, got: Any, case: Case) -> None:
    """Compare runs ``{query id: {doc id: score}}`` score by score."""
    if not isinstance(got, Mapping) or not all(isinstance(v, Mapping) for v in got.values()):
        raise failure(check, case, "expected a run: a dict {query id: {doc id: score}}.")

    def same(a, b):
        return set(a) == set(b) and all(
            set(a[q]) == set(b[q]) and all(math.isclose(a[q][d], b[q][d], abs_tol=1e-6) for d in b[q]) for q in b
        )

    def describe(got, expected):
        if set(got) != set(expected):
            return f"the fused run must hold every query of the input runs {sorted(expected)}, got {sorted(got)}."
        for q, scores in expected.items():
            if set(got[q]) != set(scores):
                return (
                    f"query {q!r}: the fused run must hold every document any run retrieved "
                    f"({len(scores)} documents), got {len(got[q])}."
                )
            bad = next((d for d, s in scores.items() if not math.isclose(got[q][d], s, abs_tol=1e-6)), None)
            if bad is not None:
                return f"query {q!r}, document {bad!r}: got {got[q][bad]:.6f}, expected {scores[bad]:.6f}."
        return "the fused run differs from the expected one."

    judge_answer(check, case, got, same, describe)


_DOMAIN_TEXTS = [
    "Hypercholesterolemia raises the risk of atherosclerosis; statins lower LDL cholesterol.",
    "The cat sat on the mat. The cat slept.",
    "Myocardial infarction, i.e. a heart attack, follows thrombosis in 3 of 4 cases.",
]


def check_pieces_per_word(fn: Callable[[Sequence[str]], float], encoder=None) -> None:
    """Check ``fn(texts) -> float``: the mean number of word pieces per word under ``encoder.tokenizer``.

    Words are runs of letters (``re.findall(r"[A-Za-z]+", text)``), counted with
    repetition; each word is tokenized on its own, without [CLS]/[SEP]. Reference:
    ``lateint.lessons.domain.fragmentation(encoder.tokenizer, texts)["pieces_per_word"]``.
    """
    tokenizer = (encoder or default_encoder()).tokenizer
    cases = []
    for name, texts in (
        ("3 texts: medical, everyday, medical with a number and abbreviations", _DOMAIN_TEXTS),
        ("1 everyday text with a repeated word", _DOMAIN_TEXTS[1:2]),
    ):
        words = [w for t in texts for w in re.findall(r"[A-Za-z]+", t)]
        distinct = sorted(set(words))
        pieces = dict(zip(distinct, (len(ids) for ids in tokenizer(distinct, add_special_tokens=False)["input_ids"])))
        whole = sum(len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"])
        cases.append(
            Case(
                name,
                (list(texts),),
                fragmentation(tokenizer, texts)["pieces_per_word"],
                {
                    "[CLS] and [SEP] were counted (2 extra pieces per word): tokenize with "
                    "add_special_tokens=False.": sum(pieces[w] + 2 for w in words) / len(words),
                    "each distinct word was counted once; count every occurrence (a repeated word counts each "
                    "time).": sum(pieces.values()) / len(distinct),
                    "the whole text was tokenized, so numbers and punctuation were counted too; tokenize the "
                    "words (runs of letters) only.": whole / len(words),
                },
            )
        )
    run_check("check_pieces_per_word", fn, cases, compare_number, "words = runs of letters, no special tokens")


def _mean(ndcg: Mapping[float, Mapping[str, float]], alpha: float, ids: Sequence[str]) -> float:
    return sum(ndcg[alpha][q] for q in ids) / len(ids)


def _chosen_on(ndcg: Mapping[float, Mapping[str, float]], ids: Sequence[str], largest_on_tie: bool = False) -> float:
    """The alpha with the best mean over ``ids``; on a tie the smallest (the largest if asked)."""
    alphas = sorted(ndcg, reverse=largest_on_tie)
    return pick_best(alphas, [_mean(ndcg, a, ids) for a in alphas])


def check_held_out_alpha(
    fn: Callable[[Mapping[float, Mapping[str, float]], Sequence[str], Sequence[str]], tuple[float, float]],
) -> None:
    """Check ``fn(ndcg, dev_ids, test_ids) -> (alpha, score)``: tune on dev, report on test.

    ``ndcg`` maps each fusion weight alpha to ``{query id: nDCG@10 of the fused run}``. The
    answer is the alpha with the best mean over ``dev_ids`` (the smallest on a tie, as
    :func:`lateint.lessons.hybrid.best_alpha` does) and that alpha's mean over ``test_ids``:
    what :func:`lateint.lessons.hybrid.held_out_fusion` reports as ``tuned`` for one split.
    """
    gen = seeded_generator(41)
    alphas = [i / 10 for i in range(11)]

    def table(ids: Sequence[str], bumps: Sequence[tuple[str, float, float]]) -> dict[float, dict[str, float]]:
        """Random per-query values in [0, 0.6], plus ``amount`` at ``alpha`` for the ids of each bump.

        A bump is ``(prefixes, alpha, amount)``: it applies to the ids whose prefix is in ``prefixes``.
        """
        out: dict[float, dict[str, float]] = {}
        for a in alphas:
            row = {}
            for q in ids:
                extra = sum(amount for prefixes, at, amount in bumps if at == a and q.rstrip("0123456789") in prefixes)
                row[q] = round(round(0.6 * torch.rand(1, generator=gen).item(), 3) + extra, 3)
            out[a] = row
        return out

    dev = [f"dev{i}" for i in range(10)]
    test = [f"test{i}" for i in range(20)]
    train = [f"train{i}" for i in range(15)]
    tie = table(dev + test, [("dev", 0.3, 2.0), ("test", 0.8, 2.0)])
    tie[0.6] = {**tie[0.6], **{q: tie[0.3][q] for q in dev}}  # alpha 0.3 and 0.6 tie on the dev queries
    specs = [
        (
            "11 alphas, 10 dev and 20 test queries that prefer different alphas",
            table(dev + test, [("dev", 0.2, 2.0), ("test", 0.7, 2.0), (("dev", "test"), 0.5, 1.6)]),
            dev,
            test,
        ),
        ("a tie on the dev queries between alpha 0.3 and 0.6: keep the smaller", tie, dev, test),
        (
            "the table also holds 15 training queries, in neither dev_ids nor test_ids",
            table(dev + test + train, [("dev", 0.4, 2.0), ("test", 0.9, 2.0), ("train", 0.1, 6.0)]),
            dev,
            test,
        ),
        (
            "the alphas come in no particular order, with a tie on dev between 0.6 and 0.3",
            {a: tie[a] for a in (0.9, 0.6, 1.0, 0.3, 0.0, 0.5, 0.1, 0.8, 0.2, 0.7, 0.4)},
            dev,
            test,
        ),
    ]
    cases = []
    for name, ndcg, dev_ids, test_ids in specs:
        on_dev = _chosen_on(ndcg, dev_ids)
        on_test, on_both, on_table = (
            _chosen_on(ndcg, test_ids),
            _chosen_on(ndcg, dev_ids + test_ids),
            _chosen_on(ndcg, list(next(iter(ndcg.values())))),
        )
        mistakes = {
            "alpha was chosen on the test queries, the very queries it is then scored on: the figure is "
            "optimistic (it can never come out below the best single run). Choose alpha on dev_ids, then score "
            "it on test_ids.": (on_test, _mean(ndcg, on_test, test_ids)),
            "alpha was chosen on dev AND test queries together, so the test queries still helped choose it; "
            "choose on dev_ids only.": (on_both, _mean(ndcg, on_both, test_ids)),
            "alpha was chosen on every query in the table; choose on dev_ids only (the table may hold other "
            "queries too).": (on_table, _mean(ndcg, on_table, test_ids)),
            "the score reported is the dev queries' mean; report the chosen alpha's mean over test_ids.": (
                on_dev,
                _mean(ndcg, on_dev, dev_ids),
            ),
            "the score reported is the best test mean over all alphas, not the chosen alpha's test mean.": (
                on_dev,
                max(_mean(ndcg, a, test_ids) for a in ndcg),
            ),
            "on a tie the larger alpha was kept, or the first in the table's order; keep the smallest.": (
                _chosen_on(ndcg, dev_ids, largest_on_tie=True),
                _mean(ndcg, _chosen_on(ndcg, dev_ids, largest_on_tie=True), test_ids),
            ),
        }
        expected = (on_dev, _mean(ndcg, on_dev, test_ids))
        mistakes = {d: m for d, m in mistakes.items() if m != expected}
        cases.append(Case(name, (ndcg, dev_ids, test_ids), expected, mistakes))
    run_check("check_held_out_alpha", fn, cases, _compare_alpha_and_score, "alpha chosen on dev, scored on test")


def _compare_alpha_and_score(check: str, got: Any, case: Case) -> None:
    """Compare a pair ``(alpha, score)``: alpha exactly, the score to 1e-6."""
    try:
        alpha, score = (float(v) for v in got)
    except (TypeError, ValueError):
        raise failure(check, case, f"expected a pair (alpha, score) of numbers, got {got!r}.") from None

    def same(a, b):
        return math.isclose(a[0], b[0], abs_tol=1e-9) and math.isclose(a[1], b[1], abs_tol=1e-6)

    def describe(got, expected):
        if not math.isclose(got[0], expected[0], abs_tol=1e-9):
            return f"alpha {got[0]:g} is not the alpha with the best mean nDCG@10 over dev_ids ({expected[0]:g})."
        return f"alpha is right; the score {got[1]:.4f} is not its mean over test_ids ({expected[1]:.4f})."

    judge_answer(check, case, (alpha, score), same, describe)


def check_paired_gap(
    fn: Callable[[Mapping[str, float], Mapping[str, float], Sequence[str], int, int], tuple[float, float, float]],
) -> None:
    """Check ``fn(per_query_a, per_query_b, queries, n_resamples, seed) -> (mean, lo, hi)``: method b − method a,
    query by query over every query of ``queries`` (a query missing from a dict scored 0: that method ranked
    nothing relevant for it), the mean and its 95% *paired* bootstrap interval (the queries resampled with
    replacement, both methods' values of the same draw).

    Reference: the differences in the order of ``queries``, then
    :func:`lateint.lessons.perquery.bootstrap_interval`.
    """
    rng = np.random.default_rng(4)
    cases = []
    for name, n, missing in (
        ("30 queries of very different difficulty, b a little better on most", 30, 0),
        ("20 queries, 4 of them missing from a's dict and 3 from b's (nothing relevant retrieved)", 20, 4),
        ("24 queries, half of them ties", 24, 0),
    ):
        queries = [f"q{i:02d}" for i in range(n)]
        hard = rng.uniform(0.1, 0.9, n)  # per-query difficulty: both methods share it, which pairing cancels
        a = np.clip(hard + rng.normal(0, 0.02, n), 0, 1)
        b = np.clip(hard + 0.03 + rng.normal(0, 0.02, n), 0, 1)
        if "ties" in name:
            b[::2] = a[::2]
        per_a = {q: float(v) for q, v in zip(queries, a)}
        per_b = {q: float(v) for q, v in zip(queries, b)}
        for q in queries[:missing]:
            del per_a[q]
        for q in queries[-missing + 1:] if missing else ():
            del per_b[q]
        deltas = np.array([per_b.get(q, 0.0) - per_a.get(q, 0.0) for q in queries])
        expected = (float(deltas.mean()), *bootstrap_interval(deltas, 10_000, 0))
        mistakes = {
            "the sign is reversed: the task asks for b − a (e.g. MaxSim − pooled), not a − b.": (
                -expected[0], -expected[2], -expected[1]),
        }
        if missing:
            both = np.array([per_b[q] - per_a[q] for q in queries if q in per_a and q in per_b])
            mistakes["queries missing from one method's dict were dropped: a judged query that a method ranked "
                     "nothing relevant for scores 0, and dropping it flatters that method. Loop over `queries`, "
                     "with .get(q, 0.0)."] = (float(both.mean()), *bootstrap_interval(both, 10_000, 0))
        cases.append(Case(f"{name} (10,000 resamples, seed 0)", (per_a, per_b, list(queries), 10_000, 0),
                          expected, mistakes))
    run_check("check_paired_gap", fn, cases, compare_paired_interval(UNPAIRED), "b − a over every query, a paired interval")


def check_overlap_halves(fn: Callable[[Mapping[str, float], Mapping[str, float]], tuple[float, float]]) -> None:
    """Check ``fn(deltas, overlap) -> (mean above, mean at or below)``: the mean of ``deltas`` over the queries
    whose ``overlap`` is above its median, and over the others. Reference:
    :func:`lateint.lessons.perquery.halves`."""
    rng = np.random.default_rng(5)
    cases = []
    for name, n in (("10 queries", 10), ("9 queries (an odd number: the median query goes with the lower half)", 9),
                    ("8 queries, four sharing the median overlap", 8)):
        queries = [f"q{i:02d}" for i in range(n)]
        overlap = {q: float(v) for q, v in zip(queries, rng.uniform(0, 1, n).round(2))}
        if "sharing" in name:
            overlap.update(dict.fromkeys(queries[2:6], 0.5))
            overlap.update({queries[0]: 0.1, queries[1]: 0.2, queries[6]: 0.8, queries[7]: 0.9})
        deltas = {q: float(v) for q, v in zip(queries, rng.normal(0.02, 0.1, n).round(3))}
        high, low = halves(deltas, overlap)
        median = float(np.median(list(overlap.values())))
        upper = [deltas[q] for q in queries if overlap[q] >= median]
        lower = [deltas[q] for q in queries if overlap[q] < median]
        by_delta = halves(deltas, deltas)
        mistakes = {
            "the halves are swapped: return the mean over the higher-overlap queries first.": (low, high),
            "the queries were split by their delta, not by their overlap: sort or split on `overlap`.": by_delta,
            "sums, not means: divide each half's sum by its number of queries.": (
                sum(d for q, d in deltas.items() if overlap[q] > median),
                sum(d for q, d in deltas.items() if overlap[q] <= median)),
        }
        if lower and (sum(upper) / len(upper), sum(lower) / len(lower)) != (high, low):
            mistakes["queries AT the median went to the upper half; the upper half is strictly above the median."] = (
                sum(upper) / len(upper), sum(lower) / len(lower))
        cases.append(Case(name, (deltas, overlap), (high, low), mistakes))
    run_check("check_overlap_halves", fn, cases, _compare_pair_of_numbers, "split at the median overlap, means")


def _compare_pair_of_numbers(check: str, got: Any, case: Case) -> None:
    try:
        pair = tuple(float(x) for x in got)
        assert len(pair) == 2
    except (TypeError, ValueError, AssertionError):
        raise failure(check, case, f"expected two numbers (mean above the median, mean at or below), got {got!r:.80}.") from None
    judge_answer(check, case, pair, lambda a, b: all(math.isclose(x, y, abs_tol=1e-9) for x, y in zip(a, b)),
                 lambda a, b: f"got ({a[0]:+.4f}, {a[1]:+.4f}); expected ({b[0]:+.4f}, {b[1]:+.4f}).")
