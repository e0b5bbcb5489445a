"""The audit's measurements: probes scored by every long-document strategy, judged queries, cost, verdict.

:func:`run_audit` takes the documents :func:`~lateint.audit.folder.read_folder` read and returns an
:class:`Audit`: everything the report shows, computed by the library's long-document work
(:func:`lateint.lessons.long_docs.measure_strategies`, the paired bootstrap of
:func:`lateint.lessons.perquery.paired`, reciprocal rank fusion from :mod:`lateint.lessons.hybrid`
and the Qdrant arithmetic of :func:`lateint.engines.qdrant.bytes_per_point`).

Intervals: a Recall@k (a share of probes found) gets a Wilson 95 % score interval; a difference
between two strategies on the same probes gets the paired bootstrap 95 % interval (probes resampled).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

from ..data import BeirDataset, subsample
from ..engines.qdrant import QDRANT_OVERHEAD, bytes_per_point
from ..lessons.hybrid import rrf
from ..lessons.long_docs import (
    BM25_WHOLE, MAXSIM_WHOLE, POOLED_CUT, Measured, chunk_label, measure_strategies, strategy_table, token_counts,
)
from ..lessons.perquery import paired
from ..metrics import evaluate, ranked_doc_ids, run_from_scores
from ..windows import default_window
from .folder import Documents, sample_by_size
from .probes import LENGTH_BINS, POSITION_BINS, Probe, make_probes, probe_dataset

__all__ = ["Audit", "Share", "wilson", "run_audit", "verdict", "FUSED", "format_bytes", "format_duration"]

FUSED = "fused: BM25 + chunks (RRF)"
DEPTH = 100  # ranks kept per probe


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95 % for ``z = 1.96``) of the proportion ``hits / n``; ``(0, 1)`` when ``n == 0``."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Share:
    """``hits`` of ``n`` probes found, as a share with its Wilson 95 % interval."""

    hits: int
    n: int

    @property
    def value(self) -> float:
        return self.hits / self.n if self.n else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.hits, self.n)


@dataclass
class Audit:
    """Everything the report shows. ``ranks[strategy][probe id]``: rank of the probe's document (1 = first,
    ``None`` = below :data:`DEPTH`); ``recall[strategy][bin]``: :class:`Share` (bin ``"all"``, a length or a
    position label); ``deltas[strategy]``: Recall@k minus MaxSim's with its paired bootstrap interval."""

    folder: str
    kind: str
    k: int
    seed: int
    n_docs: int
    n_listed: int
    corpus_size: int
    skipped: list[tuple[str, str]]
    left_out: int
    window: int
    probes: list[Probe]
    probe_ds: BeirDataset
    ranks: dict[str, dict[str, int | None]]
    recall: dict[str, dict[str, Share]]
    deltas: dict[str, tuple[float, float, float]]
    cost: dict[str, dict[str, float]]
    lengths: dict[str, int]
    judged: dict[str, dict[str, float]] | None = None
    judged_name: str = ""
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)

    @property
    def strategies(self) -> list[str]:
        return list(self.recall)

    def lost_and_found(self, strategy: str, reference: str = MAXSIM_WHOLE) -> tuple[list[Probe], list[Probe]]:
        """Probes ``strategy`` misses at k that ``reference`` finds, and the reverse."""
        hit = lambda s, p: (self.ranks[s][p.id] or DEPTH + 1) <= self.k  # noqa: E731
        lost = [p for p in self.probes if not hit(strategy, p) and hit(reference, p)]
        found = [p for p in self.probes if hit(strategy, p) and not hit(reference, p)]
        return lost, found


def _ranks(run, qrels) -> dict[str, int | None]:
    out = {}
    for q, judged in qrels.items():
        target = next(iter(judged))
        order = ranked_doc_ids(run.get(q, {}))
        out[q] = order.index(target) + 1 if target in order else None
    return out


def _shares(ranks: dict[str, int | None], probes: list[Probe], k: int) -> dict[str, Share]:
    groups = {"all": probes}
    groups.update({b: [p for p in probes if p.length == b] for b in LENGTH_BINS})
    groups.update({b: [p for p in probes if p.position == b] for b in POSITION_BINS})
    return {g: Share(sum((ranks[p.id] or DEPTH + 1) <= k for p in ps), len(ps)) for g, ps in groups.items()}


def _within_budget(encoder, ids: list[str], texts: list[str], max_tokens: int) -> tuple[list[str], list[str], list[int]]:
    """Documents spread over their lengths (:func:`sample_by_size`) whose tokens add up to at most
    ``max_tokens``: all of them when they fit, else a tenth fewer at a time until they do."""
    counts = token_counts(encoder, texts)
    size = dict(zip(ids, counts))
    keep, n = ids, len(ids)
    while n > 1 and sum(size[i] for i in keep) > max_tokens:
        n = int(n * 0.9)
        keep = sample_by_size(size, n)
    keep = set(keep)
    rows = [(i, t, c) for i, t, c in zip(ids, texts, counts) if i in keep]
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def run_audit(
    encoder,
    docs: Documents,
    n_probes: int = 300,
    k: int | None = None,
    per_doc: int | None = None,
    seed: int = 0,
    corpus_size: int | None = None,
    chunk_size: int = 128,
    cache: bool | str | None = True,
    max_tokens: int = 400_000,
    judged_queries: int = 200,
    timing_docs: int = 16,
    show_progress: bool = False,
) -> Audit:
    """Probe, score, cost and (with qrels) evaluate ``docs``; see the module docstring.

    Args:
        n_probes: probes wanted (at most 2 per document).
        k: the cut-off of Recall@k (default: 1 under 200 documents, 5 under 1,000, else 10).
        per_doc: most probes per document (default: enough for ``n_probes``, from 2 to 5).
        corpus_size: documents to extrapolate the cost to (default: the documents the folder holds).
        chunk_size: tokens per chunk of the chunking strategy (overlap an eighth), beside sentence chunks.
        cache: the embedding cache (``True``: the default folder; a folder; ``None``: none).
        max_tokens: most tokens of documents scored at once: bounds memory (whole-document vectors
            take ``dim * 4`` bytes per token, twice); documents beyond it are left out and counted.
        judged_queries: most judged queries of a BEIR folder evaluated.
        timing_docs: documents encoded fresh (no cache) to time each strategy.
        show_progress: a progress bar over the strategies of each measurement (the probes, the timing
            documents, the judged queries), as in :func:`~lateint.lessons.long_docs.measure_strategies`.
    """
    start = time.perf_counter()
    window = default_window(encoder)
    ids, texts, counts = _within_budget(encoder, docs.doc_ids, list(docs.texts.values()), max_tokens)
    left_out = len(docs.texts) - len(ids)
    k_given = k is not None
    k = k if k_given else 1 if len(ids) < 200 else 5 if len(ids) < 1000 else 10
    per_doc = per_doc or min(5, max(2, math.ceil(n_probes / len(ids))))
    probes = make_probes(encoder, ids, texts, n_probes, per_doc=per_doc, seed=seed, window=window)
    if len(probes) < 10:
        raise ValueError(f"only {len(probes)} probe sentences found in {len(ids)} documents (sentences of "
                         f"6+ words in documents of 30+ tokens); the audit needs more text: add documents.")
    pds = probe_dataset(ids, texts, probes, name=f"{docs.folder.name} probes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the first window cuts long documents: that is what is measured
        measured = measure_strategies(encoder, pds, chunk_sizes=(chunk_size,), cache=cache, show_progress=show_progress)
    chunks = chunk_label(chunk_size)
    runs = {s: run_from_scores(m.scores, pds.query_ids, pds.doc_ids, k=DEPTH) for s, m in measured.items()}
    runs[FUSED] = rrf([runs[BM25_WHOLE], runs[chunks]])
    ranks = {s: _ranks(r, pds.qrels) for s, r in runs.items()}
    recall = {s: _shares(r, probes, k) for s, r in ranks.items()}
    deltas = {}
    for s, r in runs.items():
        p = paired(runs[MAXSIM_WHOLE], r, pds.qrels, f"recall@{k}", seed=seed)
        deltas[s] = (p.mean_delta, *p.ci)
    cost = _cost(encoder, ids, texts, measured, chunk_size, timing_docs, corpus_size or docs.n_listed, show_progress)
    judged, judged_name = None, ""
    if docs.judged is not None:
        judged, judged_name = _judged(encoder, docs.judged, judged_queries, len(ids), chunk_size, cache, seed,
                                      show_progress)
    return Audit(
        folder=str(docs.folder), kind=docs.kind, k=k, seed=seed, n_docs=len(ids), n_listed=docs.n_listed,
        corpus_size=corpus_size or docs.n_listed, skipped=docs.skipped, left_out=left_out, window=window,
        probes=probes, probe_ds=pds, ranks=ranks, recall=recall, deltas=deltas, cost=cost,
        lengths=dict(zip(ids, counts)), judged=judged, judged_name=judged_name,
        seconds=time.perf_counter() - start,
        settings={"k_given": k_given, "judged_queries": min(judged_queries, len(docs.judged.queries)) if docs.judged else 0, "n_probes": n_probes, "per_doc": per_doc, "chunk_size": chunk_size, "max_tokens": max_tokens, "model": encoder.name},
    )


def _cost(encoder, ids, texts, measured: dict[str, Measured], chunk_size: int, n: int, corpus_size: int,
          show_progress: bool = False) -> dict:
    """Per strategy: vectors and bytes per document (the whole sample), seconds per document (``n`` documents
    spread over the lengths, encoded fresh), and both extrapolated to ``corpus_size`` documents."""
    keep = set(sample_by_size(dict(zip(ids, map(len, texts))), n, seed=1))
    rows = [(i, t) for i, t in zip(ids, texts) if i in keep]
    tiny = BeirDataset(name="timing", corpus={i: {"title": "", "text": t} for i, t in rows},
                       queries={"q": "timing"}, qrels={"q": {rows[0][0]: 1}}, split="timing")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        timed = measure_strategies(encoder, tiny, chunk_sizes=(chunk_size,), cache=None, show_progress=show_progress)
    start = time.perf_counter()
    from ..bm25 import BM25

    BM25([i for i, _ in rows], [t for _, t in rows])
    timed[BM25_WHOLE].seconds = time.perf_counter() - start
    chunks = chunk_label(chunk_size)
    out = {}
    for s, m in list(measured.items()) + [(FUSED, None)]:
        if s == FUSED:
            vectors, sec = measured[chunks].vectors_per_doc, timed[chunks].seconds + timed[BM25_WHOLE].seconds
        else:
            vectors, sec = m.vectors_per_doc, timed[s].seconds
        per_doc = sec / len(rows)
        qdrant = {st: bytes_per_point(vectors, encoder.dim, st)["ram"] * QDRANT_OVERHEAD for st in ("float32", "int8")}
        out[s] = {"vectors/doc": vectors, "bytes/doc": vectors * encoder.dim * 4, "seconds/doc": per_doc,
                  "corpus bytes": vectors * encoder.dim * 4 * corpus_size, "corpus hours": per_doc * corpus_size / 3600,
                  "qdrant ram float32": qdrant["float32"] * corpus_size, "qdrant ram int8": qdrant["int8"] * corpus_size}
    return out


def _judged(encoder, ds: BeirDataset, n_queries: int, n_docs: int, chunk_size: int, cache, seed: int,
            show_progress: bool = False):
    """nDCG@10 and Recall@100 of every strategy on the judged queries (a slice: ``n_queries`` queries, their
    judged documents and as many others as the probes searched), with the fused run beside them."""
    judged_docs = {d for j in ds.qrels.values() for d in j}
    if len(ds.queries) > n_queries or len(ds.corpus) > n_docs + len(judged_docs):
        q = min(n_queries, len(ds.queries))
        others = len(ds.corpus) - len(subsample(ds, q, 0, seed).corpus)
        ds = subsample(ds, q, min(n_docs, others), seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        measured = measure_strategies(encoder, ds, chunk_sizes=(chunk_size,), cache=cache, show_progress=show_progress)
    table = strategy_table(ds, measured)
    runs = {s: run_from_scores(m.scores, ds.query_ids, ds.doc_ids, k=DEPTH) for s, m in measured.items()}
    fused = rrf([runs[BM25_WHOLE], runs[chunk_label(chunk_size)]])
    m = evaluate(fused, ds.qrels, ["ndcg@10", "recall@100"])
    p = paired(runs[MAXSIM_WHOLE], fused, ds.qrels, "ndcg@10")
    table[FUSED] = {"ndcg@10": m["ndcg@10"], "recall@100": m["recall@100"], "delta": p.mean_delta,
                    "lo": p.ci[0], "hi": p.ci[1]}
    return table, f"{ds.name}: {len(ds.queries)} judged queries, {len(ds.corpus)} documents"


def verdict(a: Audit) -> dict[str, str]:
    """The plain-words verdict: ``{"choice", "why", "cost", "sure"}`` from the probes' figures
    (and the judged queries' when there are some)."""
    k = a.k
    others = [s for s in a.strategies if s != MAXSIM_WHOLE]
    m, n = a.recall[MAXSIM_WHOLE]["all"], a.recall[MAXSIM_WHOLE]["all"].n
    probe_rival = max(others, key=lambda s: (a.recall[s]["all"].value, -a.cost[s]["bytes/doc"], s))
    probes_line = (f"MaxSim over whole documents finds {m.value:.0%} of {n} probes in the top {k}; the best other "
                   f"strategy{' on the probes' if a.judged else ''}, {probe_rival}, finds "
                   f"{a.recall[probe_rival]['all'].value:.0%}")
    if a.judged:  # real questions decide; the probes are reported beside them
        t = a.judged
        rival = max(others, key=lambda s: (t[s]["ndcg@10"], -a.cost[s]["bytes/doc"], s))
        d, lo, hi = -t[rival]["delta"], -t[rival]["hi"], -t[rival]["lo"]  # MaxSim minus the rival
        basis, n = "your judged queries", a.settings.get("judged_queries", n)
        line = (f"On your {n} judged queries MaxSim over whole documents scores nDCG@10 {t[MAXSIM_WHOLE]['ndcg@10']:.3f}; "
                f"the best other strategy, {rival}, {t[rival]['ndcg@10']:.3f}: a difference of {d:+.3f} (paired bootstrap "
                f"95 % interval {lo:+.3f} to {hi:+.3f}). On the probes: {probes_line}.")
        worse = [s for s in others if t[s]["hi"] < 0]
        unit, scale = "", 1
    else:
        rival = probe_rival
        d, lo, hi = a.deltas[rival]
        d, lo, hi = -d, -hi, -lo  # MaxSim minus the rival
        basis = "the probes"
        line = (f"{probes_line}: a difference of {100 * d:+.1f} points (paired bootstrap 95 % interval {100 * lo:+.1f} "
                f"to {100 * hi:+.1f}).")
        worse = [s for s in others if a.deltas[s][2] < 0]
        unit, scale = " points", 100
    if lo > 0:
        choice = "Use MaxSim over whole documents (late interaction)."
        why = line + " The interval is above zero: one vector per document (or per chunk) is losing content that MaxSim keeps."
    elif hi < 0:
        choice = f"Use {rival}."
        why = line + " The interval is below zero: on these documents late interaction does not pay."
    else:
        choice = f"Use {rival}; {'MaxSim over whole documents' if 'MaxSim' in rival else 'late interaction'} is not measurably better here."
        why = line + f" The interval includes zero: {basis} cannot tell the two apart, so take the cheaper one."
    if worse:
        why += f" Measurably worse than MaxSim (interval below zero): {'; '.join(worse)}."
    far = a.recall[POOLED_CUT]["second window"], a.recall[POOLED_CUT]["further"]
    past = Share(far[0].hits + far[1].hits, far[0].n + far[1].n)
    if past.n:
        why += (f" Past the first {a.window}-token window a single truncated vector finds {past.value:.0%} of {past.n} "
                f"probes: what truncation costs on your documents.")
    c_m, c_r = a.cost[MAXSIM_WHOLE], a.cost[rival]
    cost = (f"At {a.corpus_size:,} documents: MaxSim stores {format_bytes(c_m['corpus bytes'])} of float32 vectors "
            f"(Qdrant RAM about {format_bytes(c_m['qdrant ram float32'])}, {format_bytes(c_m['qdrant ram int8'])} with int8 "
            f"quantisation), {rival} {format_bytes(c_r['corpus bytes'])}; encoding takes about "
            f"{format_duration(c_m['corpus hours'] * 3600)} against {format_duration(c_r['corpus hours'] * 3600)} on this "
            "machine's CPU.")
    width = hi - lo
    if n < (50 if a.judged else 100) or width > 0.2:
        sure = "Not sure"
    elif lo > 0 or hi < 0:
        sure = "Fairly sure" if width > 0.1 else "Sure"
    else:
        sure = "Sure there is no large difference" if width <= 0.1 else "Not sure"
    spread = (f"the interval of the difference is {scale * width:.{0 if scale == 100 else 3}f}{unit} wide" if width > 0 else
              "the two score every one of them alike (no difference to put an interval on)")
    sure += (f": {n} {'judged queries' if a.judged else 'probes'}, {spread}; the Wilson intervals per bin are widest where few "
             "probes fall (see the tables). More probes (--probes) narrow "
             + ("the probes' intervals; more judged queries narrow the judged ones." if a.judged else "them."))
    return {"choice": choice, "why": why, "cost": cost, "sure": sure}


def format_bytes(n: float) -> str:
    """``1234567`` -> ``"1.2 MB"`` (powers of 1000)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def format_duration(seconds: float) -> str:
    """Seconds, minutes or hours, whichever reads best."""
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"
