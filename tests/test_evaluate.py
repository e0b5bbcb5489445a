"""Tests for lateint.metrics, checked by hand and against ir_measures / pytrec_eval."""

import math
import random
import types

import ir_measures
import numpy as np
import pytest
import pytrec_eval
import torch
from ir_measures import RR, P, R, nDCG
from helpers import SHARED, needs_shared

from lateint.metrics import (
    evaluate,
    evaluate_per_query,
    evaluate_scores,
    mrr_at_k,
    ndcg_at_k,
    parse_metric,
    precision_at_k,
    ranked_doc_ids,
    recall_at_k,
    run_depth,
    run_from_scores,
)

# ---------------------------------------------------------------------------
# Hand-computed examples
# ---------------------------------------------------------------------------

# c scores highest; a, b, z tie and are ordered by doc id descending: z, b, a.
RUN = {"q1": {"a": 0.5, "b": 0.5, "c": 0.9, "z": 0.5}}
QRELS = {"q1": {"a": 2, "b": 1, "c": 0}}


def test_ties_are_broken_by_doc_id_descending():
    assert ranked_doc_ids(RUN["q1"]) == ["c", "z", "b", "a"]


def test_hand_computed_metrics():
    ranked, rels = ranked_doc_ids(RUN["q1"]), QRELS["q1"]
    # gains by rank: c=0, z=0, b=1, a=2; ideal order: a=2, b=1
    expected_ndcg = (1 / math.log2(4) + 2 / math.log2(5)) / (2 + 1 / math.log2(3))
    assert ndcg_at_k(ranked, rels, 10) == pytest.approx(expected_ndcg)
    assert ndcg_at_k(ranked, rels, 3) == pytest.approx((1 / math.log2(4)) / (2 + 1 / math.log2(3)))
    assert ndcg_at_k(["a", "b"], rels, 10) == pytest.approx(1.0)
    assert recall_at_k(ranked, rels, 3) == 0.5 and recall_at_k(ranked, rels, 4) == 1.0
    assert mrr_at_k(ranked, rels, 10) == pytest.approx(1 / 3) and mrr_at_k(ranked, rels, 2) == 0.0
    assert precision_at_k(ranked, rels, 4) == 0.5 and precision_at_k(ranked, rels, 10) == 0.2
    result = evaluate(RUN, QRELS, ["nDCG@10", "R@3", "RR@10", "P@4"])
    assert result == pytest.approx({"ndcg@10": expected_ndcg, "recall@3": 0.5, "mrr@10": 1 / 3, "precision@4": 0.5})


def test_gain_is_the_grade_not_exponential():
    # one doc of grade 3 at rank 2, ideal has it at rank 1: nDCG = (3/log2(3)) / 3
    assert ndcg_at_k(["x", "g3"], {"g3": 3}, 10) == pytest.approx(1 / math.log2(3))
    # grade 2 ranked above grade 3: DCG = 2 + 3/log2(3), ideal = 3 + 2/log2(3)
    rels = {"g2": 2, "g3": 3}
    assert ndcg_at_k(["g2", "g3"], rels, 10) == pytest.approx((2 + 3 / math.log2(3)) / (3 + 2 / math.log2(3)))


def test_query_without_relevant_docs_scores_zero():
    assert ndcg_at_k(["a"], {"a": 0}, 10) == 0.0
    assert recall_at_k(["a"], {"a": 0}, 10) == 0.0
    assert mrr_at_k(["a"], {}, 10) == 0.0


def test_missing_query_counts_as_zero_unless_asked_otherwise():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    run = {"q1": {"a": 1.0}, "unjudged": {"a": 1.0}}
    assert evaluate(run, qrels, ["ndcg@10"]) == {"ndcg@10": 0.5}
    assert evaluate(run, qrels, ["ndcg@10"], missing_as_zero=False) == {"ndcg@10": 1.0}
    assert evaluate_per_query(run, qrels, ["mrr@10"]) == {"q1": {"mrr@10": 1.0}, "q2": {"mrr@10": 0.0}}
    # ir_measures also counts the missing query as 0
    assert ir_measures.calc_aggregate([nDCG @ 10], qrels, run)[nDCG @ 10] == 0.5


@pytest.mark.parametrize(
    "name, parsed",
    [("nDCG@10", ("ndcg", 10)), ("R@100", ("recall", 100)), ("rr@5", ("mrr", 5)), ("Precision@3", ("precision", 3))],
)
def test_metric_names_are_case_insensitive_with_aliases(name, parsed):
    assert parse_metric(name) == parsed


@pytest.mark.parametrize("name", ["map@10", "ndcg", "ndcg@0", "recall@ten", ""])
def test_unknown_metric_lists_the_supported_ones(name):
    with pytest.raises(ValueError, match="ndcg, recall, mrr, precision"):
        evaluate(RUN, QRELS, [name])


def test_bad_runs_raise():
    with pytest.raises(ValueError, match="share no query id"):
        evaluate({"1": {"a": 1.0}}, {1: {"a": 1}})
    with pytest.raises(ValueError, match="NaN"):
        evaluate({"q1": {"a": float("nan")}}, QRELS)
    with pytest.raises(TypeError, match=r"run\['q1'\] must be a dict"):
        evaluate({"q1": ["a", "b"]}, QRELS)
    with pytest.raises(ValueError, match="metrics is empty"):
        evaluate(RUN, QRELS, [])


# ---------------------------------------------------------------------------
# Against ir_measures (pytrec_eval) on random graded runs with many ties
# ---------------------------------------------------------------------------


def random_case(seed: int):
    rng = random.Random(seed)
    docs = [f"d{i}" for i in range(60)]
    qrels = {f"q{q}": {d: rng.choice([0, 1, 1, 2, 3]) for d in rng.sample(docs, rng.randint(1, 8))} for q in range(25)}
    run = {q: {d: rng.choice([0.1, 0.2, 0.3, 0.5]) for d in rng.sample(docs, rng.randint(1, 40))} for q in qrels}
    return run, qrels


@pytest.mark.parametrize("seed", range(5))
def test_matches_ir_measures_with_ties(seed):
    run, qrels = random_case(seed)
    ours = evaluate(run, qrels, ["ndcg@10", "ndcg@3", "recall@5", "recall@100", "precision@5"])
    ref = ir_measures.calc_aggregate([nDCG @ 10, nDCG @ 3, R @ 5, R @ 100, P @ 5], qrels, run)
    assert ours["ndcg@10"] == pytest.approx(ref[nDCG @ 10], abs=1e-12)
    assert ours["ndcg@3"] == pytest.approx(ref[nDCG @ 3], abs=1e-12)
    assert ours["recall@5"] == pytest.approx(ref[R @ 5], abs=1e-12)
    assert ours["recall@100"] == pytest.approx(ref[R @ 100], abs=1e-12)
    assert ours["precision@5"] == pytest.approx(ref[P @ 5], abs=1e-12)


def trec_eval_rr_at_k(run, qrels, k):
    """trec_eval's reciprocal rank of each run cut to its top k (trec_eval has no RR@k)."""
    cut = {qid: {did: run[qid][did] for did in ranked_doc_ids(run[qid])[:k]} for qid in run}
    per_query = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut)
    return sum(per_query.get(qid, {"recip_rank": 0.0})["recip_rank"] for qid in qrels) / len(qrels)


@pytest.mark.parametrize("seed", range(5))
def test_mrr_matches_trec_eval_with_ties(seed):
    run, qrels = random_case(seed)
    assert evaluate(run, qrels, ["mrr@10"])["mrr@10"] == pytest.approx(trec_eval_rr_at_k(run, qrels, 10), abs=1e-12)


def test_mrr_matches_ir_measures_without_ties():
    run, qrels = random_case(0)
    rng = random.Random(1)
    run = {qid: {did: rng.random() for did in docs} for qid, docs in run.items()}  # distinct scores
    assert evaluate(run, qrels, ["mrr@10"])["mrr@10"] == pytest.approx(
        ir_measures.calc_aggregate([RR @ 10], qrels, run)[RR @ 10], abs=1e-12
    )


# ---------------------------------------------------------------------------
# run_from_scores
# ---------------------------------------------------------------------------


def test_run_from_scores_top_k_with_ties():
    scores = np.array([[0.1, 0.9, 0.5, 0.5], [1.0, 0.0, 0.0, 0.0]])
    run = run_from_scores(scores, ["q1", "q2"], ["a", "b", "c", "d"], k=2)
    assert run == {"q1": {"b": 0.9, "d": 0.5}, "q2": {"a": 1.0, "d": 0.0}}
    assert list(run["q1"]) == ["b", "d"]  # best first
    everything = run_from_scores(scores, ["q1", "q2"], ["a", "b", "c", "d"], k=100)
    assert list(everything["q1"]) == ["b", "d", "c", "a"]


def test_run_from_scores_accepts_torch_and_matches_numpy():
    torch.manual_seed(0)
    scores = torch.randint(0, 5, (6, 30)).float()  # many ties
    query_ids, doc_ids = [f"q{i}" for i in range(6)], [f"doc{j:02d}" for j in range(30)]
    assert run_from_scores(scores, query_ids, doc_ids, k=7) == run_from_scores(scores.numpy(), query_ids, doc_ids, k=7)
    assert run_from_scores(scores.to(torch.bfloat16), query_ids, doc_ids, k=7) == run_from_scores(
        scores, query_ids, doc_ids, k=7
    )


def test_top_k_run_evaluates_like_the_full_ranking():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, size=(20, 80)).astype(np.float32)  # heavy ties
    query_ids, doc_ids = [f"q{i}" for i in range(20)], [f"d{j}" for j in range(80)]
    qrels = {qid: {doc_ids[j]: int(rng.integers(1, 3)) for j in rng.choice(80, 5, replace=False)} for qid in query_ids}
    metrics = ["ndcg@10", "recall@10", "mrr@10", "precision@10"]
    full = evaluate(run_from_scores(scores, query_ids, doc_ids, k=80), qrels, metrics)
    assert evaluate(run_from_scores(scores, query_ids, doc_ids, k=10), qrels, metrics) == full


def test_evaluate_scores_keeps_as_many_documents_as_the_deepest_metric_needs():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(6, 300))
    ds = types.SimpleNamespace(query_ids=[f"q{i}" for i in range(6)], doc_ids=[f"d{j}" for j in range(300)])
    ds.qrels = {qid: {ds.doc_ids[j]: 1 for j in rng.choice(300, 4, replace=False)} for qid in ds.query_ids}
    assert run_depth(["ndcg@10"]) == 100 and run_depth("recall@250") == 250
    metrics = ["ndcg@10", "recall@250"]  # recall@250 would be wrong from a top-100 run
    full = evaluate(run_from_scores(scores, ds.query_ids, ds.doc_ids, k=300), ds.qrels, metrics)
    assert evaluate_scores(scores, ds, metrics) == full
    assert evaluate(run_from_scores(scores, ds.query_ids, ds.doc_ids, k=100), ds.qrels, metrics) != full
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate_scores(scores, ds, ["ndcg10"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(scores=np.zeros((2, 3)), query_ids=["q"], doc_ids=["a", "b", "c"]), "shape"),
        (dict(scores=np.zeros(3), query_ids=["q"], doc_ids=["a", "b", "c"]), "shape"),
        (dict(scores=np.zeros((1, 2)), query_ids=["q"], doc_ids=["a", "a"]), "doc_ids contains duplicates"),
        (dict(scores=np.array([[np.nan, 1.0]]), query_ids=["q"], doc_ids=["a", "b"]), "NaN"),
        (dict(scores=np.zeros((1, 2)), query_ids=["q"], doc_ids=["a", "b"], k=0), "k must be a whole number"),
    ],
)
def test_run_from_scores_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        run_from_scores(**kwargs)


# ---------------------------------------------------------------------------
# A real BM25 run on SciFact
# ---------------------------------------------------------------------------


@pytest.mark.slow
@needs_shared
def test_real_bm25_run_on_scifact_matches_ir_measures():
    from lateint.bm25 import BM25
    from lateint.data import load_beir

    ds = load_beir("scifact", data_dir=SHARED)
    run = BM25(ds.doc_ids, ds.doc_texts).run(ds.query_texts, ds.query_ids, k=100)
    assert set(run) == set(ds.qrels)  # every query has a run entry
    ours = evaluate(run, ds.qrels, ["ndcg@10", "recall@100", "precision@10", "mrr@10"])
    ref = ir_measures.calc_aggregate([nDCG @ 10, R @ 100, P @ 10], ds.qrels, run)
    assert ours["ndcg@10"] == pytest.approx(ref[nDCG @ 10], abs=1e-12)
    assert ours["recall@100"] == pytest.approx(ref[R @ 100], abs=1e-12)
    assert ours["precision@10"] == pytest.approx(ref[P @ 10], abs=1e-12)
    assert ours["mrr@10"] == pytest.approx(trec_eval_rr_at_k(run, ds.qrels, 10), abs=1e-12)
