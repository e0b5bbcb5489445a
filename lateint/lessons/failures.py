"""Small, measured probes of where retrieval still breaks (lesson 06).

Each probe is a tiny corpus of our own writing in which one thing decides the right
answer and everything else is held equal:

* :func:`negation_probe`: 12 pairs of documents that differ by the single word
  "not" ("The bridge is suitable for heavy lorries." / "... is not suitable ...")
  and two queries per pair, one for each document.
* :func:`identifier_probe`: 12 pairs of documents that differ only by a number or
  an identifier ("error code E-4012" / "E-4021", "40 mg" / "400 mg") and a query
  naming each one.
* :func:`multihop_dataset`: 30 one-fact documents about ten people and 20
  questions whose answer needs two of them ("Which instrument does the person who
  owns the red bicycle play?" needs "Mara owns the red bicycle..." and "Mara plays
  the oboe...").
* :func:`limit_attributes`: LIMIT-small with each person's list of likes cut to the
  ones the queries ask about plus ``n_other`` others, to see how recall depends on
  how much else a document says.

A pair probe is scored by :func:`pair_outcomes`: for each query, is its document
ranked above its twin ("right"), below it ("wrong"), or given exactly the same score
("tie")? Chance is one right in two. Every probe is a
:class:`~lateint.data.BeirDataset`, so :func:`lateint.comparison.retrieve_all` runs
pooled, MaxSim and BM25 on it unchanged.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tqdm.auto import tqdm

from ..comparison import retrieve_all
from ..data import BeirDataset
from ..metrics import Qrels, evaluate, ranked_doc_ids
from .demo import needle_haystack
from .probe_texts import IDENTIFIER_PAIRS, NEGATION_PAIRS, PEOPLE

__all__ = [
    "PairProbe",
    "negation_probe",
    "identifier_probe",
    "pair_outcomes",
    "multihop_dataset",
    "success_at_k",
    "recall_gap",
    "probe_outcomes",
    "outcome_rows",
    "filler_sweep",
    "attribute_sweep",
    "limit_attributes",
    "plot_outcomes",
]

# ----------------------------------------------------------------------------- pair probes


@dataclass(frozen=True)
class PairProbe:
    """A probe made of document pairs.

    dataset: corpus (both documents of every pair), queries, and qrels giving each
             query its one right document
    twins:   query id -> (right doc id, twin doc id)
    groups:  query id -> a label to split the results by (e.g. "affirmative" / "negated")
    """

    dataset: BeirDataset
    twins: dict[str, tuple[str, str]]
    groups: dict[str, str]





def _pair_probe(name: str, rows: Sequence[tuple[str, str, str, str, str, str, str, str]]) -> PairProbe:
    """rows: (doc id a, doc id b, doc a, doc b, query for a, query for b, group of a, group of b)."""
    corpus, queries, qrels, twins, groups = {}, {}, {}, {}, {}
    for id_a, id_b, doc_a, doc_b, q_a, q_b, g_a, g_b in rows:
        corpus[id_a] = {"title": "", "text": doc_a}
        corpus[id_b] = {"title": "", "text": doc_b}
        for right, wrong, text, group in ((id_a, id_b, q_a, g_a), (id_b, id_a, q_b, g_b)):
            queries[f"q-{right}"] = text
            qrels[f"q-{right}"] = {right: 1}
            twins[f"q-{right}"] = (right, wrong)
            groups[f"q-{right}"] = group
    return PairProbe(BeirDataset(name, corpus, queries, qrels), twins, groups)


def _pad(text: str, n_filler: int, seed: int) -> str:
    """``text`` in the middle of ``n_filler`` unrelated sentences (the same ones for a given seed)."""
    return text if n_filler == 0 else needle_haystack(text, n_filler=n_filler, seed=seed)


def negation_probe(n_filler: int = 0) -> PairProbe:
    """12 document pairs differing by "not"; 24 queries, grouped "affirmative" / "negated".

    n_filler: hide each document's sentence among this many unrelated sentences (the same
              ones for both documents of a pair), to make the one-word difference a
              smaller part of a longer document.

    Doc ids are "<topic>-affirmative" / "<topic>-negated"; a query's id is "q-" + its document's id.
    """
    return _pair_probe(
        "negation" + (f"[+{n_filler} filler]" if n_filler else ""),
        [
            (f"{t}-affirmative", f"{t}-negated", _pad(a, n_filler, i), _pad(n, n_filler, i), qa, qn, "affirmative", "negated")
            for i, (t, a, n, qa, qn) in enumerate(NEGATION_PAIRS)
        ],
    )


def identifier_probe(n_filler: int = 0) -> PairProbe:
    """12 document pairs differing only by a number or identifier; 24 queries, one per value.

    n_filler: as for :func:`negation_probe`.

    Doc ids are "<topic>-<value>" (e.g. "error-E-4012"); groups name the topic ("error", "dose"...).
    """
    return _pair_probe(
        "identifiers" + (f"[+{n_filler} filler]" if n_filler else ""),
        [
            (f"{t}-{v1}", f"{t}-{v2}", _pad(doc.format(v1), n_filler, i), _pad(doc.format(v2), n_filler, i),
             q.format(v1), q.format(v2), t, t)
            for i, (t, doc, (v1, v2), q) in enumerate(IDENTIFIER_PAIRS)
        ],
    )


def pair_outcomes(probe: PairProbe, run: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, int]]:
    """Count, per group and in total ("all"), how often each query's right document
    scores above its twin ("right"), below it ("wrong") or exactly the same ("tie").

    A document missing from the run's list for a query scores below every listed one
    (BM25 leaves out documents sharing no word with the query).
    """
    counts: dict[str, dict[str, int]] = {}
    for qid, (right, wrong) in probe.twins.items():
        if qid not in run:
            raise ValueError(f"the run has no results for query {qid!r}; run every query of probe.dataset")
        scores = run[qid]
        a, b = scores.get(right, float("-inf")), scores.get(wrong, float("-inf"))
        outcome = "tie" if a == b else ("right" if a > b else "wrong")
        for group in (probe.groups[qid], "all"):
            row = counts.setdefault(group, {"right": 0, "tie": 0, "wrong": 0})
            row[outcome] += 1
    return counts


def probe_outcomes(probe: PairProbe, encoder=None, methods: Sequence[str] = ("pooled", "maxsim", "bm25")) -> dict[str, dict[str, dict[str, int]]]:
    """:func:`pair_outcomes` of each method on ``probe``: ``{method: {group: {"right", "tie", "wrong"}}}``.

    Every document of the probe is scored for every query (pooled and MaxSim share one
    forward pass, see :func:`lateint.comparison.retrieve_all`).
    """

    runs = retrieve_all(probe.dataset, encoder, methods, k=len(probe.dataset.corpus))
    return {m: pair_outcomes(probe, run) for m, run in runs.items()}


def outcome_rows(outcomes: Mapping[str, Mapping[str, Mapping[str, int]]], groups: Sequence[str]) -> dict[str, dict[str, int]]:
    """Flatten :func:`probe_outcomes` for printing: ``{"<method> / <group>": {"right", "tie", "wrong"}}``."""
    return {f"{m} / {g}": dict(o[g]) for m, o in outcomes.items() for g in groups if g in o}


def filler_sweep(
    make_probe: Callable[[int], PairProbe],
    encoder,
    fillers: Sequence[int] = (0, 10),
    methods: Sequence[str] = ("pooled", "maxsim", "bm25"),
    show_progress: bool = False,
) -> dict[str, list[int]]:
    """How many of a probe's queries each method gets right as its documents grow.

    Args:
        make_probe: :func:`negation_probe` or :func:`identifier_probe`.
        fillers: numbers of unrelated sentences around each document's sentence.
        show_progress: a progress bar over the filler counts (each one a probe encoded and scored).

    Returns:
        ``{method: [right answers at each filler count]}``, out of ``len(probe.twins)``.
    """
    right: dict[str, list[int]] = {m: [] for m in methods}
    for n in tqdm(fillers, desc=make_probe.__name__.replace("_", " "), unit="filler count", disable=not show_progress):
        for m, o in probe_outcomes(make_probe(n), encoder, methods).items():
            right[m].append(o["all"]["right"])
    return right


# ----------------------------------------------------------------------------- multi-hop



def multihop_dataset() -> BeirDataset:
    """Ten people, three one-fact documents each (30 docs), and 20 two-hop questions.

    Questions come in two shapes, each needing the two documents named in its qrels:

    * "Which instrument does the person who owns the {thing} play?"  (owns + plays)
    * "In which town does the person who plays the {instrument} live?"  (plays + lives)

    Doc ids are "<name>-owns", "<name>-plays", "<name>-lives" (lower case).
    """
    corpus, queries, qrels = {}, {}, {}
    for name, thing, instrument, _town, owns, plays, lives in PEOPLE:
        key = name.lower()
        for fact, text in (("owns", owns), ("plays", plays), ("lives", lives)):
            corpus[f"{key}-{fact}"] = {"title": "", "text": text}
        queries[f"{key}-instrument"] = f"Which instrument does the person who owns the {thing} play?"
        qrels[f"{key}-instrument"] = {f"{key}-owns": 1, f"{key}-plays": 1}
        queries[f"{key}-town"] = f"In which town does the person who plays the {instrument} live?"
        qrels[f"{key}-town"] = {f"{key}-plays": 1, f"{key}-lives": 1}
    return BeirDataset("multihop", corpus, queries, qrels)


def success_at_k(run: Mapping[str, Mapping[str, float]], qrels: Qrels, k: int) -> float:
    """Fraction of the queries of ``qrels`` whose relevant documents are ALL in the run's top ``k``.

    Recall@k gives half credit for one of two documents; a question that needs both
    (multi-hop, LIMIT's pairs) is only answered when both are there.
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if not qrels:
        raise ValueError("qrels is empty: there is nothing to measure")
    hits = 0
    for qid, rels in qrels.items():
        top = set(ranked_doc_ids(run.get(qid, {}))[:k])
        relevant = {d for d, g in rels.items() if g > 0}
        hits += bool(relevant) and relevant <= top
    return hits / len(qrels)


def recall_gap(runs: Mapping[str, Mapping[str, Mapping[str, float]]], qrels: Qrels, k: int) -> dict[str, dict[str, float]]:
    """For each run: Recall@k, the share of queries with *all* relevant documents in the top k
    (:func:`success_at_k`), and the gap between that share and perfect (1.0).

    Returns ``{run name: {"recall@k": ..., "all found@k": ..., "gap to perfect": ...}}``.
    """

    table = {}
    for name, run in runs.items():
        found = success_at_k(run, qrels, k)
        table[name] = {
            f"recall@{k}": evaluate(run, qrels, [f"recall@{k}"])[f"recall@{k}"],
            f"all found@{k}": found,
            "gap to perfect": 1.0 - found,
        }
    return table


# ----------------------------------------------------------------------------- LIMIT


_LIKES = re.compile(r"(?P<name>.+?) likes (?P<items>.+)\.")
_WHO_LIKES = re.compile(r"Who likes (?P<item>.+)\?")


def _parse_likes(text: str) -> tuple[str, list[str]]:
    """'Ann likes A, B and C.' -> ('Ann', ['A', 'B', 'C'])."""
    m = _LIKES.fullmatch(text)
    if not m:
        raise ValueError(f"not a LIMIT document ('<name> likes A, B and C.'): {text[:80]!r}")
    head, _, last = m.group("items").rpartition(" and ")
    return m.group("name"), (head.split(", ") if head else []) + [last]


def _join_likes(name: str, items: Sequence[str]) -> str:
    listed = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return f"{name} likes {listed}."


def limit_attributes(ds: BeirDataset, n_other: int, seed: int = 0) -> BeirDataset:
    """LIMIT-small (or a slice of it) with shorter documents.

    Every document keeps the attributes that ``ds``'s queries ask about (so the
    judgements stay true) plus ``n_other`` of its other attributes (all of them if it
    has fewer), in their original order. ``n_other = 0`` leaves each person only
    what is asked about; a large ``n_other`` gives back the original documents.
    """
    if not isinstance(n_other, int) or isinstance(n_other, bool) or n_other < 0:
        raise ValueError(f"n_other must be an int >= 0, got {n_other!r}")
    asked: dict[str, set[str]] = {did: set() for did in ds.corpus}
    for qid, text in ds.queries.items():
        m = _WHO_LIKES.fullmatch(text)
        if not m:
            raise ValueError(f"query {qid!r} is not a LIMIT query ('Who likes X?'): {text!r}")
        for did in ds.qrels.get(qid, {}):
            asked[did].add(m.group("item"))
    rng = random.Random(seed)
    corpus = {}
    for did, doc in ds.corpus.items():
        name, items = _parse_likes(doc["text"])
        missing = asked[did] - set(items)
        if missing:
            raise ValueError(f"document {did!r} is judged relevant for {sorted(missing)} but does not list it")
        others = [i for i, item in enumerate(items) if item not in asked[did]]
        keep = set(rng.sample(others, min(n_other, len(others))))
        kept = [item for i, item in enumerate(items) if item in asked[did] or i in keep]
        corpus[did] = {"title": doc.get("title", ""), "text": _join_likes(name, kept)}
    return BeirDataset(f"{ds.name}[+{n_other} other]", corpus, dict(ds.queries), {q: dict(r) for q, r in ds.qrels.items()})


def attribute_sweep(
    ds: BeirDataset,
    encoder,
    n_others: Sequence[int] = (0, 5, 15, 40),
    k: int = 2,
    methods: Sequence[str] = ("pooled", "maxsim", "bm25"),
    seed: int = 0,
    show_progress: bool = False,
) -> dict[str, list[float]]:
    """Recall@k of each method on :func:`limit_attributes` ``(ds, n)`` for each ``n`` of ``n_others``.

    Returns ``{method: [recall@k at each n]}``: how recall falls as each document
    lists more attributes besides the ones asked about. ``show_progress``: a progress bar over ``n_others``
    (each one a corpus encoded and searched).
    """

    out: dict[str, list[float]] = {m: [] for m in methods}
    for n in tqdm(n_others, desc="longer profiles", unit="length", disable=not show_progress):
        cut = limit_attributes(ds, n, seed)
        for m, run in retrieve_all(cut, encoder, methods, k=max(k, 10)).items():
            out[m].append(evaluate(run, cut.qrels, [f"recall@{k}"])[f"recall@{k}"])
    return out


# ----------------------------------------------------------------------------- plots


def plot_outcomes(outcomes: Mapping[str, Mapping[str, Mapping[str, int]]], title: str, group: str = "all", ax=None):
    """Stacked horizontal bars, one per method: how many queries came out right / tie / wrong.

    Args:
        outcomes: :func:`probe_outcomes`' result, ``{method: {group: {"right": n, "tie": n, "wrong": n}}}``.
        group: which group of queries to draw (default: all of them).

    Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    from ..display.plots import method_label

    if not outcomes:
        raise ValueError("outcomes is empty; pass probe_outcomes(...)")
    missing = [m for m, o in outcomes.items() if group not in o]
    if missing:
        raise ValueError(f"no group {group!r} in the outcomes of {missing}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.6 * len(outcomes) + 1.5))
    labels = [method_label(m) for m in outcomes]
    left = [0] * len(outcomes)
    for key, colour in (("right", "#009E73"), ("tie", "#999999"), ("wrong", "#D55E00")):
        values = [o[group].get(key, 0) for o in outcomes.values()]
        ax.barh(labels, values, left=left, color=colour, label=key)
        left = [a + b for a, b in zip(left, values)]
    total = max(left)
    ax.axvline(total / 2, color="black", ls=":", lw=1.5, label="chance")
    ax.set_xlim(0, total)
    ax.set_xlabel("number of queries")
    ax.set_title(title)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=4, fontsize="small")
    return ax
