"""Long documents measured: truncation, cram, chunks and MaxSim on whole documents (lesson 01b,
``benchmarks/long_docs.py``).

- :func:`truncation_fact`: how many documents the model's window cuts, and how much of them it loses.
- :func:`measure_strategies`: every way of handling a long document, encoded and scored on one dataset
  (or slice): a :class:`Measured` per strategy with its ``(n_queries, n_docs)`` scores, bytes per document
  and encoding time.
- :func:`joined_corpus`: the length stress: every document becomes ``k`` real documents joined.
- :func:`strategy_table`: nDCG@10, Recall@100, the paired interval against a reference, bytes and speed.
"""

from __future__ import annotations

import random
import statistics
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ..bm25 import BM25
from ..cache import encode_in_shards
from ..chunking import ChunkIndex, sentence_chunks, token_chunks
from ..data import BeirDataset
from ..metrics import evaluate, run_from_scores
from ..index import maxsim_scores
from ..similarity import cosine_scores
from .perquery import paired

__all__ = [
    "CHUNK_SIZES", "SENTENCE_TOKENS", "MAXSIM_WHOLE", "Measured", "token_counts", "truncation_fact", "format_truncation_fact",
    "joined_corpus", "measure_strategies", "strategy_table", "plot_length_curve", "plot_chunk_sizes",
]

CHUNK_SIZES = (32, 64, 128)  # tokens; overlap: an eighth of the size
SENTENCE_TOKENS = 64  # sentence chunks hold at most this many tokens
MAXSIM_WHOLE = "MaxSim, whole document"
POOLED_CUT = "pooled, first window"
MAXSIM_CUT = "MaxSim, first window"
CRAM = "cram (one vector, all tokens)"
BM25_WHOLE = "BM25, whole text"


def chunk_label(size: int) -> str:
    return f"chunks of {size} tokens"


SENTENCES = f"sentence chunks (<= {SENTENCE_TOKENS} tokens)"


def token_counts(encoder, texts: Sequence[str], batch: int = 256, show_progress: bool = False) -> list[int]:
    """:meth:`Encoder.token_counts` of ``texts``, ``batch`` texts at a time (a whole corpus at once holds every
    text's tokens and offsets in memory together: hundreds of MB for SciFact); ``show_progress``: a progress bar
    over the batches (a whole corpus takes seconds)."""
    texts = list(texts)
    starts = tqdm(range(0, len(texts), batch), desc="counting tokens", unit="batch", disable=not show_progress)
    return [c for s in starts for c in encoder.token_counts(texts[s : s + batch])]


def truncation_fact(encoder, texts: Sequence[str], show_progress: bool = False) -> dict[str, float]:
    """How the document window cuts ``texts``: counts from :meth:`Encoder.token_counts` (special tokens included;
    ``show_progress``: a progress bar while counting, as in :func:`token_counts`).

    Returns ``{"documents", "longer", "share longer", "median tokens", "over 512", "share over 512",
    "tokens lost"}`` where ``"tokens lost"`` is the share of all tokens the window never sees.
    """
    counts = token_counts(encoder, texts, show_progress=show_progress)
    limit = encoder.format.doc_length
    longer = [c for c in counts if c > limit]
    return {
        "documents": len(counts), "window": limit, "longer": len(longer), "share longer": len(longer) / len(counts),
        "median tokens": statistics.median(counts), "over 512": sum(c > 512 for c in counts),
        "share over 512": sum(c > 512 for c in counts) / len(counts),
        "tokens lost": sum(c - limit for c in longer) / sum(counts),
    }


def format_truncation_fact(name: str, f: Mapping[str, float]) -> str:
    """One sentence for :func:`truncation_fact`'s result."""
    return (f"{name}: {f['longer']:,} of {f['documents']:,} documents ({f['share longer']:.0%}) are longer than the "
            f"{f['window']}-token window (median {f['median tokens']:.0f} tokens, {f['share over 512']:.0%} over 512); "
            f"truncation never sees {f['tokens lost']:.0%} of the corpus's tokens.")


def joined_corpus(ds: BeirDataset, k: int, seed: int = 0, sep: str = "\n\n") -> tuple[BeirDataset, dict[str, list[str]]]:
    """The length stress: every document of ``ds`` joined with ``k - 1`` others of ``ds``.

    Document ``d`` of the new corpus keeps its id and its judgements; its text is ``d``'s text at a random
    place among ``k - 1`` fillers drawn at random (``random.Random(seed)``; the same seed, the same corpus)
    from the documents judged for none of the queries, separated by ``sep``. So a judged document sits in
    exactly one joined document, its own, and the others around it are noise for every query. Returns the
    dataset and ``{doc id: member ids in order}``.
    """
    judged = {d for j in ds.qrels.values() for d in j}
    fillers = sorted(set(ds.corpus) - judged)
    if not isinstance(k, int) or k < 1 or k - 1 > len(fillers) - 1 + (k == 1):
        raise ValueError(f"k must be an int from 1 to {len(fillers)}: each joined document takes k - 1 of the "
                         f"{len(fillers)} documents judged for no query, got {k!r}.")
    rng = random.Random(seed)
    members = {}
    for d in sorted(ds.corpus):
        others = rng.sample([i for i in fillers if i != d], k - 1)
        others.insert(rng.randrange(k), d)
        members[d] = others
    text = dict(zip(ds.doc_ids, ds.doc_texts))
    corpus = {d: {"title": "", "text": sep.join(text[m] for m in members[d])} for d in ds.doc_ids}
    joined = BeirDataset(name=f"{ds.name} x{k}", corpus=corpus, queries=dict(ds.queries),
                         qrels={q: dict(j) for q, j in ds.qrels.items()}, split=ds.split)
    return joined, members


@dataclass
class Measured:
    """One strategy on one dataset: ``scores`` ``(n_queries, n_docs)``, float32 vectors stored per document
    and the seconds its documents took to encode (``nan`` where nothing is encoded)."""

    scores: torch.Tensor
    vectors_per_doc: float
    seconds: float
    dim: int = 384
    index: object = None  # the ChunkIndex of a chunking strategy (search_chunks shows the winning chunks)

    @property
    def bytes_per_doc(self) -> float:
        return self.vectors_per_doc * self.dim * 4


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def measure_strategies(
    encoder,
    ds: BeirDataset,
    chunk_sizes: Sequence[int] = CHUNK_SIZES,
    sentences: bool = True,
    whole_from: Mapping[str, object] | None = None,
    verbose: bool = False,
    cache: bool | str | None = None,
    shard: int = 256,
    show_progress: bool = False,
) -> dict[str, Measured]:
    """Encode and score ``ds`` every way: pooled and MaxSim on the first window (truncation, which warns),
    cram, token chunks of each size (overlap an eighth), sentence chunks, MaxSim on whole documents, BM25.

    Pooled-first-window is the mean of the kept first-window token vectors (what ``encode_pooled`` gives
    all-MiniLM-L6-v2), taken from the same encoding as MaxSim-first-window; cram and MaxSim-whole share one
    whole-document encoding too, so each pair reports one encoding time.

    ``whole_from``: for a :func:`joined_corpus`, ``{"members": ..., "raw": {source id: unnormalised (L, dim)}}``:
    whole documents are composed from their sources' whole-document vectors instead of encoded (the tokens
    near a join see only their own source as context; every other vector is what windows over the joined
    text give up to the windows' own cut points).

    ``cache``: ``True`` (the default folder) or a folder: documents, whole documents and chunks are encoded
    ``shard`` texts at a time through the embedding cache (:func:`lateint.cache.encode_in_shards`), with
    progress bars, so an interrupted run resumes; the seconds reported are then those of this run (a cache
    hit takes almost none). ``None``: encoded fresh, timed.

    ``show_progress``: a progress bar over the strategies (first window, whole documents, each chunking, BM25).
    """
    say = print if verbose else (lambda *a, **k: None)
    docs, queries = ds.doc_texts, ds.query_texts

    def encode(kind, texts, what, **kw):
        if cache is None:
            return encode_in_shards(encoder, texts, kind, shard=max(len(texts), 1), cache=False, **kw)
        return encode_in_shards(encoder, texts, kind, shard=shard, path=None if cache is True else cache,
                                progress=f"encoding {what}", **{"show_progress": False, **kw})

    bar = tqdm(total=3 + len(chunk_sizes) + bool(sentences), desc=f"{ds.name}: strategies", unit="strategy",
               disable=not show_progress)
    q_tokens = encoder.encode_queries(queries)
    q_pooled = encoder.encode_pooled(queries, is_query=True)
    out: dict[str, Measured] = {}
    normal = torch.nn.functional.normalize
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw, sec = _timed(lambda: encode("documents", docs, "first windows", normalize=False))
    for w in caught:  # truncation is never silent: printed, or warned again to the caller
        say(f"  warning: {w.message}") if verbose else warnings.warn(w.message, w.category, stacklevel=2)
    out[POOLED_CUT] = Measured(cosine_scores(q_pooled, torch.stack([r.mean(0) for r in raw])), 1.0, sec)
    out[MAXSIM_CUT] = Measured(maxsim_scores(q_tokens, [normal(r, dim=-1) for r in raw]),
                               sum(map(len, raw)) / len(raw), sec)
    say(f"  first window: {sec:.0f} s")
    bar.update()
    if whole_from is None:
        whole, sec = _timed(lambda: encode("whole", docs, "whole documents", normalize=False))
    else:
        whole = [torch.cat([whole_from["raw"][m] for m in whole_from["members"][d]]) for d in ds.doc_ids]
        sec = float("nan")
    out[CRAM] = Measured(cosine_scores(q_pooled, torch.stack([w.mean(0) for w in whole])), 1.0, sec)
    out[MAXSIM_WHOLE] = Measured(maxsim_scores(q_tokens, [normal(w, dim=-1) for w in whole]),
                                 sum(map(len, whole)) / len(whole), sec)
    say(f"  whole documents: {sec:.0f} s")
    bar.update()
    chunkers = {chunk_label(s): (lambda e, t, s=s: token_chunks(e, t, s, s // 8)) for s in chunk_sizes}
    if sentences:
        chunkers[SENTENCES] = lambda e, t: sentence_chunks(e, t, SENTENCE_TOKENS)
    for label, chunker in chunkers.items():
        def build(chunker=chunker, label=label):
            chunks = chunker(encoder, docs)
            # no bar per chunk batch (thousands of small chunks): the shards' bar, when cached, says enough
            return ChunkIndex(ds.doc_ids, chunks, encode("pooled", [c.text for c in chunks], label, show_progress=False))

        index, sec = _timed(build)
        out[label] = Measured(index.scores(q_pooled), index.chunks_per_doc, sec, index=index)
        say(f"  {label}: {index.chunks_per_doc:.1f} chunks/doc, {sec:.0f} s")
        bar.update()
    bm25 = BM25(ds.doc_ids, docs)
    out[BM25_WHOLE] = Measured(bm25.scores(queries), 0.0, float("nan"))
    bar.update()
    bar.close()
    return out


def strategy_table(
    ds: BeirDataset, measured: Mapping[str, Measured], reference: str = MAXSIM_WHOLE, n_resamples: int = 2000
) -> dict[str, dict[str, float]]:
    """``{strategy: {"ndcg@10", "recall@100", "delta", "lo", "hi", "vectors/doc", "bytes/doc", "docs/s"}}``:
    ``delta`` is nDCG@10 minus the reference's, ``lo``/``hi`` its paired-bootstrap 95 % interval."""
    runs = {label: run_from_scores(m.scores, ds.query_ids, ds.doc_ids, k=100) for label, m in measured.items()}
    table = {}
    for label, m in measured.items():
        metrics = evaluate(runs[label], ds.qrels, ["ndcg@10", "recall@100"])
        p = paired(runs[reference], runs[label], ds.qrels, "ndcg@10", n_resamples)
        table[label] = {"ndcg@10": metrics["ndcg@10"], "recall@100": metrics["recall@100"],
                        "delta": p.mean_delta, "lo": p.ci[0], "hi": p.ci[1], "vectors/doc": m.vectors_per_doc,
                        "bytes/doc": m.bytes_per_doc, "docs/s": len(ds.doc_ids) / m.seconds}
    return table


def plot_length_curve(curves: Mapping[str, Sequence[tuple[int, float]]], title: str = "", ax=None):
    """nDCG@10 against ``k`` (documents joined into one), one line per strategy: ``{label: [(k, ndcg), ...]}``."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for label, points in curves.items():
        ks, values = zip(*points)
        style = "-" if "MaxSim" in label else ("--" if "chunk" in label else ":")
        ax.plot(ks, values, style, marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted({k for p in curves.values() for k, _ in p}), labels=[str(k) for k in sorted({k for p in curves.values() for k, _ in p})])
    ax.set_xlabel("documents joined into one (k)")
    ax.set_ylabel("nDCG@10")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_chunk_sizes(rows: Mapping[int, float], reference: Mapping[str, float] | None = None, title: str = "", ax=None):
    """nDCG@10 against chunk size in tokens, with horizontal lines for reference strategies ``{label: ndcg}``."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    sizes = sorted(rows)
    ax.plot(sizes, [rows[s] for s in sizes], marker="o", label="best chunk")
    for i, (label, value) in enumerate((reference or {}).items()):
        ax.axhline(value, linestyle=["--", ":", "-."][i % 3], color=f"C{i + 1}", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, labels=[str(s) for s in sizes])
    ax.set_xlabel("chunk size (tokens)")
    ax.set_ylabel("nDCG@10")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax
