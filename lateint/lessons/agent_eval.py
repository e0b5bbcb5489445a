"""The agent loop against single searches at the same budget (lesson 06b, ``benchmarks/agent.py``).

An agent that makes two searches of one document each has seen two documents for two
retrieval calls. Comparing it with one search of one document flatters it. Each row of
:func:`budget_compare` is run through the same loop (:func:`~lateint.lessons.agent.agent_run`),
which counts the calls and times each question:

* ``one search, top k``: the question as it is, ``k`` documents (the unmatched baseline);
* ``one search, top k·calls``: the question as it is, as many documents as the agent may see;
* ``feedback, calls × top k``: as many searches as the agent may make, reformulated without
  parsing the question (:class:`~lateint.lessons.agent.Feedback`: the question plus the text
  of the best document found so far);
* ``agent, up to calls × top k``: the decomposer (default :class:`~lateint.lessons.agent.RuleDecomposer`);
  a question it does not split is searched once, top ``k``;
* ``agent + fallback, calls × top k``: the same, but a question it does not split is searched
  again until the budget is spent (:class:`~lateint.lessons.agent.WithFallback`).

Success is :func:`~lateint.lessons.failures.success_at_k` at ``k·calls``: are *both* needed
documents among the ones retrieved. Evaluate on :mod:`lateint.lessons.agent_questions` (held
out) as well as on ``multihop_dataset()`` (the template the rules were written for).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import mean

from tqdm.auto import tqdm

from ..data import BeirDataset
from ..metrics import evaluate
from .agent import Decomposer, Feedback, OneSearch, RuleDecomposer, Searcher, WithFallback, agent_run, searcher
from .failures import success_at_k

__all__ = ["budget_compare", "compare_sets", "pivot"]


def budget_compare(
    ds: BeirDataset,
    search: Searcher,
    decomposer: Decomposer | None = None,
    k: int = 1,
    calls: int = 2,
) -> dict[str, dict[str, float]]:
    """Each strategy's success on ``ds``, with what it spent.

    Args:
        ds: questions with the documents each needs in its qrels.
        search: ``search(query, k)`` over ``ds``'s corpus (:func:`~lateint.lessons.agent.searcher`).
        decomposer: the agent's :class:`~lateint.lessons.agent.Decomposer` (default: the rules).
        k: documents per search.
        calls: searches the agent (and the feedback baseline) may make per question.

    Every loop keeps only documents not seen before (``new_only``), so ``calls`` searches
    bring at most ``k·calls`` documents.

    Returns:
        ``{strategy: {"all found", "recall", "searches", "docs", "decomposed", "ms"}}``: the
        share of questions with all needed documents retrieved, Recall@``k·calls``, the mean
        searches and documents per question, the share of questions whose first search was
        not the question itself (the decomposer split it), and the mean wall time per
        question in milliseconds.
    """
    if not isinstance(calls, int) or calls < 1:
        raise ValueError(f"calls must be a positive int, got {calls!r}")
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    budget = k * calls
    decomposer = RuleDecomposer() if decomposer is None else decomposer
    strategies = {
        f"one search, top {k}": (OneSearch(), k, 1),
        f"one search, top {budget}": (OneSearch(), budget, 1),
        f"feedback, {calls} × top {k}": (Feedback(), k, calls),
        f"agent, up to {calls} × top {k}": (decomposer, k, calls),
        f"agent + fallback, {calls} × top {k}": (WithFallback(decomposer), k, calls),
    }
    table = {}
    for name, (strategy, per_call, max_calls) in strategies.items():
        run, traces = agent_run(ds, search, per_call, strategy, max_calls, new_only=True)
        table[name] = {
            "all found": success_at_k(run, ds.qrels, budget),
            "recall": evaluate(run, ds.qrels, [f"recall@{budget}"])[f"recall@{budget}"],
            "searches": float(mean(t.calls for t in traces)),
            "docs": float(mean(len(t.retrieved) for t in traces)),
            "decomposed": float(mean(t.steps[0].query != t.question for t in traces)),
            "ms": 1000 * mean(t.seconds for t in traces),
        }
    return table


def compare_sets(
    datasets: Mapping[str, BeirDataset],
    methods: Sequence[str] = ("pooled", "maxsim", "bm25"),
    encoder=None,
    decomposer: Decomposer | None = None,
    k: int = 1,
    calls: int = 2,
    show_progress: bool = False,
) -> dict[tuple[str, str, str], dict[str, float]]:
    """:func:`budget_compare` for every dataset and retrieval method.

    Returns ``{(set name, method, strategy): row}``, in the order of ``datasets``, ``methods``
    and the strategies. Dense methods need ``encoder``; documents go through the embedding cache.
    ``show_progress``: a progress bar over the (dataset, method) pairs.
    """
    if not datasets:
        raise ValueError("datasets is empty: pass {name: BeirDataset}")
    out = {}
    pairs = [(set_name, ds, method) for set_name, ds in datasets.items() for method in methods]
    for set_name, ds, method in tqdm(pairs, desc="sets and methods", unit="pair", disable=not show_progress):
        search = searcher(method, ds.doc_ids, ds.doc_texts, encoder)
        for strategy, row in budget_compare(ds, search, decomposer, k, calls).items():
            out[(set_name, method, strategy)] = row
    return out


def pivot(results: Mapping[tuple[str, str, str], Mapping[str, float]], key: str, spend: bool = True) -> dict[str, dict[str, float]]:
    """:func:`compare_sets`' result as ``{"<set> / <strategy>": {method: row[key]}}`` for
    :func:`lateint.display.tables.format_table`.

    With ``spend``, each row starts with what the strategy spent: "searches", "docs" and
    "decomposed", averaged over the methods (they differ only where a method's results
    change what the decomposer reads).
    """
    if not results:
        raise ValueError("results is empty: pass compare_sets(...)'s result")
    first = next(iter(results.values()))
    if key not in first:
        raise ValueError(f"unknown key {key!r}: choose from {list(first)}")
    rows: dict[str, dict[str, float]] = {}
    spent: dict[str, list[Mapping[str, float]]] = {}
    for (set_name, method, strategy), row in results.items():
        name = f"{set_name} / {strategy}"
        rows.setdefault(name, {})[method] = row[key]
        spent.setdefault(name, []).append(row)
    if not spend:
        return rows
    return {
        name: {what: float(mean(r[what] for r in spent[name])) for what in ("searches", "docs", "decomposed")} | by_method
        for name, by_method in rows.items()
    }
