"""The deck's figures, drawn at build time by ``lateint`` on the lessons' own data.

Each entry of :data:`FIGURES` draws one ``figures/NAME.png`` that ``deck.md`` can show with
``![what it shows](figures/NAME.png)``. Each does what a lesson cell does (named in its
docstring), with the same data and settings, so the picture and the numbers on the slide
are the lesson's. Encodings go through the embedding cache (``lateint.cache``), so a second
build is quick. To add a figure: write a function returning a matplotlib ``Figure``, add it to
:data:`FIGURES`, name it in ``deck.md``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lateint.display import plots  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DPI = 110  # a 9 x 5 inch figure is 990 x 550 pixels: sharp on a 1280 x 720 slide


@cache
def encoder():
    """The embedded default model (no network), loaded once for every figure."""
    from lateint.encoders import load_encoder

    return load_encoder()


def toy() -> Figure:
    """Lesson 02, section 1: the pencil-and-paper example, heat map and the bars MaxSim adds."""
    from lateint.maxsim import explain

    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    d = torch.tensor([[0.6, 0.8], [0.8, 0.6], [-0.8, 0.6]])
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 4))
    plots.similarity_heatmap(q @ d.T, ["bread", "rise"], ["yeast", "dough", "oven"], ax=left, title="q · d for every pair")
    plots.contribution_bars(explain(q, d, ["bread", "rise"], ["yeast", "dough", "oven"]), ax=right)
    return fig


def heatmap() -> Figure:
    """Lesson 02, section 2: a real query against its answer, token by token."""
    from lateint.lessons.demo import demo_corpus

    enc, demo = encoder(), demo_corpus()
    query, doc = demo.queries["q-bread"], demo.corpus["cooking-yeast"]["text"]
    qv, dv = enc.encode_queries([query], show_progress=False)[0], enc.encode_documents([doc], show_progress=False)[0]
    ax = plots.similarity_heatmap(qv @ dv.T, enc.query_tokens([query])[0], enc.document_tokens([doc])[0],
                                  title="Why does bread dough rise?  vs  cooking-yeast")
    return ax.figure


def needle() -> Figure:
    """Lesson 01, section 1: the needle's score and rank as filler is added (5 fillings per length)."""
    from lateint.lessons.needle import needle_experiment

    result = needle_experiment(encoder(), seeds=range(5))
    return plots.needle_curve(result.mean_tokens(), result.mean("scores"), baseline=result.mean("baseline"),
                              ranks=result.mean("ranks"), n_candidates=result.n_distractors + 1)


def limit() -> Figure:
    """Lesson 01, section 2: LIMIT-small, all 1,000 queries, Recall@2 of each method."""
    from lateint.compare import compare
    from lateint.data import load_beir

    table = compare(load_beir("limit-small"), encoder(), metrics=("recall@2",), show_progress=False)
    return plots.bar_compare(table, "recall@2", title="LIMIT-small, all 1,000 queries").figure


def full_sets() -> Figure:
    """``benchmarks/README.md``, retrieval quality: nDCG@10 on the full SciFact and NFCorpus test sets,
    read from the runs' own output (``benchmarks/retrieval_results.jsonl``), not recomputed."""
    rows = [json.loads(line) for line in (ROOT / "benchmarks" / "retrieval_results.jsonl").read_text().splitlines() if line]
    names = {"scifact": "SciFact (5,183 docs)", "nfcorpus": "NFCorpus (3,633 docs)"}
    tables: dict[str, dict[str, dict[str, float]]] = {}
    for row in rows:
        if row["dataset"] in names:
            tables.setdefault(names[row["dataset"]], {})[row["method"]] = {"ndcg@10": row["ndcg@10"]}
    order = ("pooled", "maxsim", "bm25")
    tables = {name: {m: t[m] for m in order} for name, t in tables.items()}
    return plots.grouped_bar_compare(tables, "ndcg@10", title="Full test sets, nDCG@10", ylim=(0, 0.85)).figure


def length_curve() -> Figure:
    """``benchmarks/README.md``, long documents: the length stress (nDCG@10 against k abstracts joined),
    read from the run's own output (``benchmarks/long_docs_results.jsonl``), not recomputed."""
    from lateint.lessons.long_docs import plot_length_curve

    rows = [json.loads(line) for line in (ROOT / "benchmarks" / "long_docs_results.jsonl").read_text().splitlines() if line]
    curves: dict[str, list[tuple[int, float]]] = {}
    for row in rows:
        if row["part"] == "stress":
            curves.setdefault(row["strategy"], []).append((row["k"], row["ndcg@10"]))
    fig, ax = plt.subplots(figsize=(9, 5))
    plot_length_curve(curves, title="SciFact, every document = k abstracts joined", ax=ax)
    fig.tight_layout()
    return fig


def _probe_figure(probe: Callable, title: str) -> Figure:
    from lateint.lessons.failures import plot_outcomes, probe_outcomes

    fig, ax = plt.subplots(figsize=(9, 3.6))
    plot_outcomes(probe_outcomes(probe(), encoder()), title, ax=ax)
    return fig


def negation() -> Figure:
    """Lesson 06, section 1: 12 pairs differing by "not", 24 queries: is the right one first?"""
    from lateint.lessons.failures import negation_probe

    return _probe_figure(negation_probe, "Negation: is the right document first?")


def multihop() -> Figure:
    """Lesson 06, section 4: both documents of a two-hop question found, one search vs an agent loop."""
    from lateint.lessons.agent import agent_run, searcher
    from lateint.compare import retrieve_all
    from lateint.lessons.failures import multihop_dataset, recall_gap

    enc, hop = encoder(), multihop_dataset()
    single = retrieve_all(hop, enc)
    loop = {m: agent_run(hop, searcher(m, hop.doc_ids, hop.doc_texts, enc), k=1)[0] for m in ("pooled", "maxsim", "bm25")}
    tables = {"one search (top 2)": recall_gap(single, hop.qrels, 2),
              "agent: two searches (top 1 each)": recall_gap(loop, hop.qrels, 2)}
    return plots.grouped_bar_compare(tables, "all found@2", title="Multi-hop: both documents found",
                                     ylabel="share of questions", ylim=(0, 1.12)).figure


FIGURES: dict[str, Callable[[], Figure]] = {
    "toy": toy,
    "heatmap": heatmap,
    "needle": needle,
    "limit": limit,
    "full_sets": full_sets,
    "length_curve": length_curve,
    "negation": negation,
    "multihop": multihop,
}


def draw(names: Sequence[str], folder: Path) -> list[Path]:
    """Draw the named figures into ``folder`` as ``NAME.png``; returns their paths."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    folder.mkdir(parents=True, exist_ok=True)
    plots.style()
    paths = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*-token limit")  # long texts cut at 256 tokens, as in the lessons
        for name in names:
            fig = FIGURES[name]()
            path = folder / f"{name}.png"
            fig.savefig(path, dpi=DPI, bbox_inches="tight", facecolor="white")
            plt.close(fig)
            paths.append(path)
    return paths
