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
from matplotlib.text import Text  # noqa: E402

from lateint.display import plots  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# Figures are drawn at the size the slide shows them (template.html: at most 1180 x 500 pixels of the
# 1280 x 720 slide), so nothing is shrunk and a 15-point label is 21 pixels: 19 or more on a 1280 x 720
# screen, where reveal.js draws the slide at 0.93 (its margin). Each PNG records its smallest text in
# pixels ("min-text-px"), which the browser test multiplies by the scale it is shown at.
DPI = 100
MIN_POINTS = 15.0
LAYOUT_RECTS = {"needle": (0, 0.2, 1, 1)}  # room left below the axes for a figure legend
SIZES: dict[str, tuple[float, float]] = {  # inches at DPI: the slide's room for each figure
    "pooled_vs_maxsim": (11.5, 4.9), "toy": (11.5, 4.2), "heatmap": (11.5, 4.9), "needle": (11.5, 4.9), "limit": (9.5, 4.9),
    "full_sets": (10.5, 4.9), "negation": (10.5, 4.2), "multihop": (10.5, 4.9),
}


@cache
def encoder():
    """The embedded default model (no network), loaded once for every figure."""
    from lateint.encoders import load_encoder

    return load_encoder()


def pooled_vs_maxsim() -> Figure:
    """Lesson 01, the opening picture: one pooled vector and one cosine, beside the token vectors matched by
    MaxSim, for a demo query and the first sentence of its answer."""
    from lateint.comparison import encode_corpus
    from lateint.display.diagrams import pooled_vs_maxsim as draw_picture
    from lateint.lessons.demo import demo_corpus

    enc, demo = encoder(), demo_corpus()
    query = demo.queries["q-hottest"]
    doc = demo.corpus["astro-venus"]["text"].split(". ")[0] + "."
    q, d = encode_corpus(enc, [query], "queries"), encode_corpus(enc, [doc], "documents")
    return draw_picture(q["tokens"][0] @ d["tokens"][0].T, float(q["pooled"][0] @ d["pooled"][0]),
                        enc.query_tokens([query])[0], enc.document_tokens([doc])[0])


def toy() -> Figure:
    """Lesson 02, section 1: the pencil-and-paper example, heat map and the bars MaxSim adds."""
    from lateint.similarity import explain

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
    fig = plots.needle_curve(result.mean_tokens(), result.mean("scores"), baseline=result.mean("baseline"),
                             ranks=result.mean("ranks"), n_candidates=result.n_distractors + 1)
    score_ax, rank_ax = fig.axes[:2]  # short labels and titles: the slide says the rest
    score_ax.set_ylabel("score")
    score_ax.set_title("The needle's score")
    rank_ax.set_ylabel(f"rank of {result.n_distractors + 1} (1 = top)")
    rank_ax.set_title("Its rank")
    handles, labels = score_ax.get_legend_handles_labels()
    for ax in (score_ax, rank_ax):
        if ax.get_legend():
            ax.get_legend().remove()
    fig.legend(handles, labels, loc="lower center", ncol=2, handlelength=1.5, columnspacing=1.5)
    return fig


def limit() -> Figure:
    """Lesson 01, section 2: LIMIT-small, all 1,000 queries, Recall@2 of each method."""
    from lateint.comparison import compare
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
    """Lesson 06b, section 1: both documents of a two-hop question found, one search vs an agent loop."""
    from lateint.lessons.agent import agent_run, searcher
    from lateint.comparison import retrieve_all
    from lateint.lessons.failures import multihop_dataset, recall_gap

    enc, hop = encoder(), multihop_dataset()
    single = retrieve_all(hop, enc)
    loop = {m: agent_run(hop, searcher(m, hop.doc_ids, hop.doc_texts, enc), k=1)[0] for m in ("pooled", "maxsim", "bm25")}
    tables = {"one search (top 2)": recall_gap(single, hop.qrels, 2),
              "agent: two searches (top 1 each)": recall_gap(loop, hop.qrels, 2)}
    return plots.grouped_bar_compare(tables, "all found@2", title="Multi-hop: both documents found",
                                     ylabel="share of questions", ylim=(0, 1.12)).figure


FIGURES: dict[str, Callable[[], Figure]] = {
    "pooled_vs_maxsim": pooled_vs_maxsim,
    "toy": toy,
    "heatmap": heatmap,
    "needle": needle,
    "limit": limit,
    "full_sets": full_sets,
    "length_curve": length_curve,
    "negation": negation,
    "multihop": multihop,
}


def fit_for_the_slide(fig: Figure, size: tuple[float, float], rect: tuple[float, ...] = (0, 0, 1, 1)) -> float:
    """Resize ``fig`` to ``size`` inches, raise every text to at least :data:`MIN_POINTS`, lay it out
    again; returns the smallest text's height in pixels at :data:`DPI`."""
    fig.set_size_inches(*size)
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    for t in texts:
        t.set_fontsize(max(t.get_fontsize(), MIN_POINTS))
    fig.set_layout_engine("tight", rect=rect)
    return min(t.get_fontsize() for t in texts) * DPI / 72


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
            smallest = fit_for_the_slide(fig, SIZES.get(name, (10.5, 4.9)), LAYOUT_RECTS.get(name, (0, 0, 1, 1)))
            path = folder / f"{name}.png"
            fig.savefig(path, dpi=DPI, bbox_inches="tight", facecolor="white", metadata={"min-text-px": f"{smallest:.2f}"})
            plt.close(fig)
            paths.append(path)
    return paths
