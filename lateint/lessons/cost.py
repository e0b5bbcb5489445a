"""What late interaction costs, measured: bytes against quality, and candidates against exhaustive search.

Lesson 05 calls these on a slice of SciFact; ``benchmarks/footprint.py`` and
``benchmarks/candidates.py`` call them on full test sets::

    docs = encode_corpus(enc, ds.doc_texts, "documents")      # {"pooled": ..., "tokens": [...]}
    queries = encode_corpus(enc, ds.query_texts, "queries")
    table = footprint(ds, docs, queries, [Compression(pool_factor=2), ...])
    plot_footprint(table)
    sweep = candidate_sweep(ds, docs, queries, [20, 50, 100])
    plot_candidates(sweep)

Both return ``{row: {column: value}}`` tables, printable with
:func:`lateint.display.tables.format_table`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import torch
from tqdm.auto import tqdm

from ..display.tables import format_table
from ..metrics import evaluate, evaluate_scores
from ..index import MaxSimIndex, PooledIndex, maxsim_scores
from ..rerank import two_stage_search
from .compress import Compression, compress_each

__all__ = [
    "POOLED",
    "FULL",
    "ndcg_at_10",
    "ndcg_of_hits",
    "found_share",
    "best_of",
    "footprint",
    "format_footprint",
    "long_doc_footprint",
    "candidate_sweep",
    "bf16_lever",
    "plot_footprint",
    "plot_candidates",
]

T = TypeVar("T")
POOLED = "pooled fp32 (1 vector)"
FULL = Compression().label  # every token vector in float32: the reference


def ndcg_at_10(ds, scores: torch.Tensor) -> float:
    """nDCG@10 on dataset ``ds`` of a ``(n_queries, n_docs)`` score matrix."""
    return evaluate_scores(scores, ds, "ndcg@10")["ndcg@10"]


def ndcg_of_hits(ds, hits: Sequence[Sequence[tuple[str, float]]]) -> float:
    """nDCG@10 on dataset ``ds`` of ranked ``(doc_id, score)`` lists, one per query of ``ds``, in order."""
    return evaluate({qid: dict(h) for qid, h in zip(ds.query_ids, hits)}, ds.qrels, ["ndcg@10"])["ndcg@10"]


def found_share(hits: Sequence[Sequence[tuple[str, float]]], reference: Sequence[Sequence[tuple[str, float]]]) -> float:
    """Share of the documents in ``reference``'s lists (e.g. exhaustive MaxSim's top 10) that ``hits`` also holds.

    Both are ranked ``(doc_id, score)`` lists, one per query; the share is over all queries together.
    """
    found = sum(len({d for d, _ in h} & {d for d, _ in r}) for h, r in zip(hits, reference))
    return found / sum(len(r) for r in reference)


def best_of(fn: Callable[[], T], repeats: int = 1) -> tuple[float, T]:
    """``(seconds, result)``: the fastest of ``repeats`` calls of ``fn`` and what the last call returned.

    On a shared machine the fastest run is the least disturbed one.
    """
    best, out = float("inf"), None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def footprint(
    ds, docs: Mapping[str, object], queries: Mapping[str, object], settings: Sequence[Compression], seed: int = 0,
    verbose: bool = False, show_progress: bool = False,
) -> dict[str, dict[str, float]]:
    """Bytes per document and nDCG@10 of the pooled vector, of all token vectors, and of each setting.

    Args:
        ds: the dataset (or slice) the vectors come from.
        docs, queries: ``{"pooled": (n, dim), "tokens": [(L_i, dim), ...]}``, as
            :func:`lateint.comparison.encode_corpus` returns them.
        settings: the :class:`~lateint.lessons.compress.Compression` settings to measure
            (all token vectors in float32 is always measured first, as the reference).
        verbose: print each row as it is measured (full test sets take minutes).
        show_progress: a progress bar over the settings.

    Returns:
        ``{label: {"vectors/doc", "bytes/doc", "x pooled bytes", "ndcg@10", "of MaxSim"}}``;
        ``"of MaxSim"`` is the nDCG@10 as a fraction of all token vectors in float32.
    """
    pooled_bytes = docs["pooled"].shape[1] * 4
    table = {POOLED: {"vectors/doc": 1.0, "bytes/doc": float(pooled_bytes),
                      "ndcg@10": ndcg_at_10(ds, PooledIndex(ds.doc_ids, docs["pooled"]).scores(queries["pooled"]))}}
    todo = [Compression()] + [s for s in settings if s != Compression()]
    measured = compress_each(docs["tokens"], queries["tokens"], todo, seed)
    for setting, result in tqdm(measured, total=len(todo), desc="settings", unit="setting", disable=not show_progress):
        start = time.perf_counter()
        score = ndcg_at_10(ds, MaxSimIndex(ds.doc_ids, result.docs).scores(result.queries))
        table[setting.label] = {"vectors/doc": result.vectors_per_doc, "bytes/doc": result.bytes_per_doc,
                                "ndcg@10": score}
        if verbose:
            print(f"{setting.label}: {result.vectors_per_doc:.1f} vectors, {result.bytes_per_doc:,.0f} bytes, "
                  f"nDCG@10 {score:.4f} (scored in {time.perf_counter() - start:.0f} s)", flush=True)
    reference = table[FULL]["ndcg@10"]
    for row in table.values():
        row["x pooled bytes"] = row["bytes/doc"] / pooled_bytes
        row["of MaxSim"] = row["ndcg@10"] / reference if reference else float("nan")
    return {label: {k: row[k] for k in ("vectors/doc", "bytes/doc", "x pooled bytes", "ndcg@10", "of MaxSim")}
            for label, row in table.items()}


def long_doc_footprint(ds, measured: Mapping[str, object], reference: str = "MaxSim, whole document") -> dict[str, dict[str, float]]:
    """:func:`footprint`'s columns for the long-document strategies (chunks, cram, whole documents), plus their
    encoding cost: ``{label: {"vectors/doc", "bytes/doc", "x pooled bytes", "ndcg@10", "of MaxSim", "docs/s"}}``.

    ``measured``: :func:`lateint.lessons.long_docs.measure_strategies`'s result on ``ds``; ``"of MaxSim"`` is
    relative to ``reference`` (MaxSim over whole documents). BM25 stores no vectors and is left out.
    """
    reference_ndcg = ndcg_at_10(ds, measured[reference].scores)
    table = {}
    for label, m in measured.items():
        if not m.vectors_per_doc:
            continue
        score = ndcg_at_10(ds, m.scores)
        table[label] = {"vectors/doc": m.vectors_per_doc, "bytes/doc": m.bytes_per_doc,
                        "x pooled bytes": m.bytes_per_doc / (m.dim * 4), "ndcg@10": score,
                        "of MaxSim": score / reference_ndcg if reference_ndcg else float("nan"),
                        "docs/s": len(ds.doc_ids) / m.seconds}
    return table


def format_footprint(table: Mapping[str, Mapping[str, float]]) -> str:
    """A :func:`footprint` table as aligned text, each column rounded to what it can tell."""

    return format_table({
        label: {"vectors/doc": f"{r['vectors/doc']:.1f}", "bytes/doc": f"{r['bytes/doc']:,.0f}",
                "x pooled bytes": f"{r['x pooled bytes']:.1f}", "nDCG@10": f"{r['ndcg@10']:.3f}",
                "of MaxSim": f"{r['of MaxSim']:.1%}"}
        for label, r in table.items()
    }, first="setting")


def candidate_sweep(
    ds, docs: Mapping[str, object], queries: Mapping[str, object], candidates: Sequence[int], k: int = 10,
    repeats: int = 1, show_progress: bool = False,
) -> dict[str, dict[str, float]]:
    """Pooled candidates + MaxSim re-ranking for each ``k'`` in ``candidates``, against exhaustive MaxSim.

    ``show_progress``: a progress bar over the runs (exhaustive, then each ``k'``); it updates between the
    timed searches, never inside one.

    Returns:
        ``{"exhaustive" or "k'=...": {"recall@10 vs exhaustive", "ndcg@10", "seconds", "speed-up"}}``:
        the share of exhaustive MaxSim's top ``k`` that the two-stage top ``k`` also holds
        (averaged over queries), nDCG@10 on the qrels, and the search time for all queries
        (best of ``repeats``) with its speed-up over exhaustive MaxSim.
    """
    index, pooled = MaxSimIndex(ds.doc_ids, docs["tokens"]), PooledIndex(ds.doc_ids, docs["pooled"])

    def row(hits, seconds: float) -> dict[str, float]:
        return {"recall@10 vs exhaustive": found_share(hits, full), "ndcg@10": ndcg_of_hits(ds, hits),
                "seconds": seconds, "speed-up": t_full / seconds}

    with tqdm(total=1 + len(candidates), desc="candidate sweep", unit="run", disable=not show_progress) as bar:
        t_full, full = best_of(lambda: index.search(queries["tokens"], k=k), repeats)
        table = {"exhaustive": row(full, t_full)}
        bar.update()
        for c in candidates:
            seconds, hits = best_of(
                lambda c=c: two_stage_search(pooled, index, queries["pooled"], queries["tokens"], k, c), repeats
            )
            table[f"k'={c}"] = row(hits, seconds)
            bar.update()
    return table


def bf16_lever(encoder, encoder_bf16, ds, docs: Mapping[str, object], queries: Mapping[str, object],
               sample: int = 48, show_progress: bool = False) -> dict[str, float]:
    """What encoding in bfloat16 changes on ``ds``, against the float32 ``encoder``'s MaxSim.

    ``encoder_bf16`` is the same model loaded with ``dtype=torch.bfloat16`` (its outputs come back as float32).
    The float32 side is ``docs`` and ``queries`` as :func:`~lateint.comparison.encode_corpus` gives them
    (``{"tokens": [(L_i, dim)]}``); the bf16 side is encoded here, fresh (never from the cache). Speed: the
    first ``sample`` documents encoded by each encoder, the faster of two runs. Returns:

    - ``"docs/s float32"``, ``"docs/s bf16"``, ``"speed-up"``: documents per second, and their ratio;
    - ``"largest change per query token"``: the largest ``|bf16 score - float32 score| / query tokens`` over
      every query-document pair (MaxSim sums one best match per query token, so this is the most one
      token's best match moved; the docstring of :func:`~lateint.index.maxsim_scores` bounds it at ~0.01);
    - ``"top-10 kept"``: the share of float32's top-10 documents that bf16's top 10 also holds;
    - ``"ndcg@10 float32"``, ``"ndcg@10 bf16"``: on ``ds``'s judgements.

    ``show_progress``: a progress bar over the three steps (timing float32, timing bf16, encoding ``ds`` in bf16).
    """
    texts = ds.doc_texts[:sample]
    rates = {}
    with tqdm(total=3, desc="bf16 lever", unit="step", disable=not show_progress) as bar:
        for label, enc in (("float32", encoder), ("bf16", encoder_bf16)):
            seconds, _ = best_of(lambda enc=enc: enc.encode_documents(texts), repeats=2)
            rates[label] = len(texts) / seconds
            bar.update()
        half = maxsim_scores(encoder_bf16.encode_queries(ds.query_texts), encoder_bf16.encode_documents(ds.doc_texts))
        bar.update()
    q_tokens = queries["tokens"]
    full = maxsim_scores(q_tokens, docs["tokens"])
    lengths = torch.tensor([len(q) for q in q_tokens], dtype=torch.float32).unsqueeze(1)
    k = min(10, full.shape[1])
    top = lambda scores: [[(str(i), 0.0) for i in row.tolist()] for row in scores.topk(k, dim=1).indices]  # noqa: E731
    return {"docs/s float32": rates["float32"], "docs/s bf16": rates["bf16"], "speed-up": rates["bf16"] / rates["float32"],
            "largest change per query token": float(((half - full).abs() / lengths).max()),
            "top-10 kept": found_share(top(half), top(full)),
            "ndcg@10 float32": ndcg_at_10(ds, full), "ndcg@10 bf16": ndcg_at_10(ds, half)}


def plot_footprint(table: Mapping[str, Mapping[str, float]], budget: float | None = 4.0, title: str = "", ax=None):
    """nDCG@10 against bytes per document (log scale), one labelled point per setting.

    Reference lines: the pooled vector's nDCG@10 (dotted, pooled's colour), 97 % of full
    MaxSim's (dash-dot, black: a threshold, not a method), and ``budget`` times the pooled
    vector's bytes (dashed, grey; ``None`` leaves it out). The y axis spans every point and
    line with 0.02 nDCG@10 to spare (one query's worth on 50 queries), within [0, 1]; settings
    drawn on top of each other share one label, and no two labels overlap.
    Returns the matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt

    from ..display.plots import label_points, method_color

    if ax is None:
        _, ax = plt.subplots(figsize=(11, 6.5))
    labels = list(table)
    xs = [table[label]["bytes/doc"] for label in labels]
    ys = [table[label]["ndcg@10"] for label in labels]
    for label, x, y in zip(labels, xs, ys):
        ax.scatter(x, y, s=60, color=method_color("pooled" if label == POOLED else "maxsim"), zorder=3)
    pooled = table[POOLED]
    lines = [pooled["ndcg@10"]]
    ax.axhline(pooled["ndcg@10"], color=method_color("pooled"), linestyle=":", label="pooled vector's nDCG@10")
    if FULL in table:
        lines.append(0.97 * table[FULL]["ndcg@10"])
        ax.axhline(lines[-1], color="black", linestyle="-.", lw=1.5, label="97 % of full MaxSim's nDCG@10")
    if budget is not None:
        ax.axvline(budget * pooled["bytes/doc"], color="grey", linestyle="--", label=f"{budget:g}× the pooled bytes")
    ax.set_xscale("log")
    ax.set_xlim(min(xs) / 1.6, max(xs) * 3.0)  # room right of the largest point for its label
    ax.set_ylim(max(0.0, min(ys + lines) - 0.02), min(1.0, max(ys + lines) + 0.02))
    ax.set_xlabel("bytes stored per document (log scale)")
    ax.set_ylabel("nDCG@10")
    ax.set_title(title or "What each storage setting costs and keeps")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize="small")  # below: points fill the panel
    label_points(ax, xs, ys, labels)
    return ax


def plot_candidates(table: Mapping[str, Mapping[str, float]], title: str = "", ax=None):
    """Recall@10 against exhaustive MaxSim, for each number of candidates ``k'``. Returns the ``Axes``."""
    import matplotlib.pyplot as plt

    from ..display.plots import method_color

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 5))
    rows = {int(name.split("=")[1]): row for name, row in table.items() if name.startswith("k'=")}
    ks = sorted(rows)
    ax.plot(ks, [rows[c]["recall@10 vs exhaustive"] for c in ks], "o-", color=method_color("maxsim"),
            label="pooled candidates, MaxSim re-ranking")
    ax.axhline(1.0, color="grey", linestyle="--", label="exhaustive MaxSim")
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(c) for c in ks])
    ax.set_xlabel("candidates re-ranked per query, k′ (log scale)")
    ax.set_ylabel("recall@10 vs exhaustive MaxSim")
    ax.set_title(title or "How many candidates does MaxSim need to see?")
    ax.legend(loc="lower right")
    return ax
