"""The audit's report: one self-contained HTML file (figures inline as base64 PNG, no external request).

:func:`render_report` turns an :class:`~lateint.audit.measure.Audit` into HTML; :func:`write_report`
writes it atomically (a reader never sees half a report, a failed run leaves the old one).
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from tqdm.auto import tqdm

from ..display.highlight import render_tokens, token_strengths
from ..files import write_atomically
from ..lessons.long_docs import MAXSIM_WHOLE, POOLED_CUT
from ..similarity import explain
from ..windows import encode_whole
from .measure import DEPTH, Audit, format_bytes, format_duration, verdict
from .probes import LENGTH_BINS, POSITION_BINS, Probe, length_bin

__all__ = ["render_report", "write_report", "plot_recall", "examples_html", "figures", "read_figures", "PROBES_MEASURE"]

PROBES_MEASURE = (
    "Each probe is a sentence taken out of one of your documents and used as a query; it succeeds when that "
    "document, without the sentence, comes back in the top k (the inverse cloze task of Lee, Chang &amp; Toutanova, "
    "ACL 2019, <a href=\"https://arxiv.org/abs/1906.00300\">arXiv:1906.00300</a>). Probes measure whether a strategy "
    "keeps what a document says <em>everywhere in it</em>, past the model's window included: a strategy that drops "
    "the end of long documents loses the probes taken from there. They do not measure what your users ask: a probe "
    "shares the document's topic, words and style, so lexical overlap helps BM25 more than a real question would, "
    "and a probe never asks about something the document only implies. A set of real queries with judgements "
    "(BEIR format: queries.jsonl and qrels/test.tsv beside corpus.jsonl) beats probes; where you have one, its "
    "figures come first."
)

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em; line-height: 1.45; color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.verdict { border: 2px solid #0072B2; background: #eef6fb; padding: 0.8em 1.2em; border-radius: 6px; }
.example { border: 1px solid #ddd; padding: 0.6em; margin: 0.6em 0; border-radius: 4px; }
.muted { color: #666; font-size: 0.9em; }
img { max-width: 100%; }
"""


def _pct(x: float) -> str:
    return f"{x:.0%}" if x == x else "n/a"


def _signed(x: float) -> str:
    return f"{x * 100 + 0.0:+.1f}".replace("-0.0", "+0.0") + " pts"


def plot_recall(audit: Audit, bins: tuple[str, ...], title: str = "", ax=None):
    """Bars of Recall@k per bin (``LENGTH_BINS`` or ``POSITION_BINS``), one per strategy, Wilson 95 % intervals
    as error bars (MaxSim over whole documents hatched). Returns the matplotlib Axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(10, 3.8))[1]
    strategies = audit.strategies
    width = 0.8 / len(strategies)
    for i, s in enumerate(strategies):
        shares = [audit.recall[s][b] for b in bins]
        xs = [j + (i - len(strategies) / 2 + 0.5) * width for j in range(len(bins))]
        ys = [sh.value if sh.n else 0 for sh in shares]
        err = [[max(0, y - sh.interval[0]) for y, sh in zip(ys, shares)],
               [max(0, sh.interval[1] - y) for y, sh in zip(ys, shares)]]
        ax.bar(xs, ys, width, yerr=err, capsize=2, label=s, hatch="//" if s == MAXSIM_WHOLE else None,
               edgecolor="black", linewidth=0.4)
    ax.set_xticks(range(len(bins)), [f"{b}\n({audit.recall[strategies[0]][b].n} probes)" for b in bins], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(f"Recall@{audit.k}")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def _figure(audit: Audit, bins: tuple[str, ...], title: str) -> str:
    """:func:`plot_recall` as an inline PNG ``<img>`` (base64)."""
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.use("Agg", force=False)
    fig = Figure(figsize=(10, 3.8))
    plot_recall(audit, bins, title, ax=fig.add_subplot())
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'


def _recall_table(audit: Audit, bins: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(b)}</th>" for b in bins)
    rows = []
    for s in audit.strategies:
        cells = []
        for b in bins:
            sh = audit.recall[s][b]
            lo, hi = sh.interval
            cells.append(f"<td>{_pct(sh.value)} <span class=muted>[{lo:.0%}, {hi:.0%}]</span></td>" if sh.n else "<td>&ndash;</td>")
        rows.append(f"<tr><td>{html.escape(s)}</td>{''.join(cells)}</tr>")
    counts = "".join(f"<td>{audit.recall[audit.strategies[0]][b].n}</td>" for b in bins)
    return f"<table><tr><th>strategy</th>{head}</tr>{''.join(rows)}<tr><td><em>probes</em></td>{counts}</tr></table>"


def _highlighted(encoder, probe: Probe, doc_text: str, radius: int = 45) -> str:
    """The part of the document MaxSim matched the probe to, its tokens coloured by match strength."""
    q = encoder.encode_queries([probe.sentence], show_progress=False)[0]
    d = encode_whole(encoder, [doc_text])[0]
    tokens = encoder.tokenizer.convert_ids_to_tokens(encoder.tokenizer(doc_text, truncation=False)["input_ids"])
    if len(tokens) != len(d):  # a checkpoint that drops tokens: show the text plain
        return html.escape(doc_text[:600])
    matches = explain(q, d, encoder.query_tokens([probe.sentence])[0], tokens)
    strengths = token_strengths(matches, len(d))
    inner = [(s or 0) if 0 < i < len(tokens) - 1 else 0 for i, s in enumerate(strengths)]
    centre = max(range(len(inner)), key=lambda i: (inner[i], -i))
    a, b = max(1, centre - radius), min(len(tokens) - 1, centre + radius)
    body = render_tokens(tokens[a:b], strengths[a:b])
    where = f"tokens {a}-{b} of the {len(tokens)} left without the probe"
    return f"{'&hellip; ' if a > 1 else ''}{body}{' &hellip;' if b < len(tokens) - 1 else ''} <span class=muted>({where})</span>"


def examples_html(audit: Audit, encoder, strategy: str, n: int = 3, show_progress: bool = False) -> str:
    """HTML: how many probes ``strategy`` loses that MaxSim over whole documents finds (and the reverse), and
    ``n`` of each, the document's tokens coloured by what MaxSim matched (:func:`lateint.display.highlight.render_tokens`).
    ``show_progress``: a progress bar over the examples (each encodes its whole document)."""
    lost, found = audit.lost_and_found(strategy)
    texts = dict(zip(audit.probe_ds.doc_ids, audit.probe_ds.doc_texts))
    out = [f"<h3>{html.escape(strategy)} against MaxSim over whole documents</h3>",
           f"<p>{len(lost)} probes lost by {html.escape(strategy)} and found by MaxSim; {len(found)} the reverse "
           f"(of {len(audit.probes)}, at k = {audit.k}).</p>"]
    groups = (("lost by " + strategy + ", found by MaxSim", lost), ("found by " + strategy + ", lost by MaxSim", found))
    examples = [(label, p) for label, group in groups for p in group[:n]]
    for label, p in tqdm(examples, desc=f"examples: {strategy}", unit="example", disable=not show_progress):
        rank = lambda s: audit.ranks[s][p.id] or f">{DEPTH}"  # noqa: E731
        out.append(
            f"<div class=example><b>{html.escape(label)}</b> &middot; document <code>{html.escape(p.doc)}</code> "
            f"({p.doc_tokens} tokens, sentence at token {p.token_start}: {html.escape(p.position)}) &middot; rank "
            f"{rank(strategy)} under {html.escape(strategy)}, {rank(MAXSIM_WHOLE)} under MaxSim<br>"
            f"<b>probe</b>: {html.escape(p.sentence)}<br><b>what MaxSim matched in the document</b> "
            f"(colour = similarity of the best query-token match): {_highlighted(encoder, p, texts[p.doc])}</div>")
    return "\n".join(out)


def _why_k(audit: Audit) -> str:
    if audit.settings.get("k_given"):
        return " (as asked)"
    return (f" because the probes search {audit.n_docs:,} documents: a larger top k would hold much of the corpus "
            "and every strategy would look perfect (give --k to choose)")


def _cost_table(audit: Audit) -> str:
    rows = []
    for s, c in audit.cost.items():
        rows.append(f"<tr><td>{html.escape(s)}</td><td>{c['vectors/doc']:.1f}</td><td>{format_bytes(c['bytes/doc'])}</td>"
                    f"<td>{c['seconds/doc'] * 1000:.0f} ms</td><td>{format_bytes(c['corpus bytes'])}</td>"
                    f"<td>{format_duration(c['corpus hours'] * 3600)}</td><td>{format_bytes(c['qdrant ram float32'])}</td>"
                    f"<td>{format_bytes(c['qdrant ram int8'])}</td></tr>")
    return ("<table><tr><th>strategy</th><th>vectors/doc</th><th>bytes/doc</th><th>encode/doc</th>"
            f"<th>vectors, {audit.corpus_size:,} docs</th><th>encoding, {audit.corpus_size:,} docs</th>"
            "<th>Qdrant RAM float32</th><th>Qdrant RAM int8</th></tr>" + "".join(rows) + "</table>")


def _judged_table(audit: Audit) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(s)}</td><td>{r['ndcg@10']:.3f}</td><td>{r['recall@100']:.3f}</td>"
        f"<td>{r['delta']:+.3f} <span class=muted>[{r['lo']:+.3f}, {r['hi']:+.3f}]</span></td></tr>"
        for s, r in audit.judged.items())
    return ("<table><tr><th>strategy</th><th>nDCG@10</th><th>Recall@100</th><th>nDCG@10 minus MaxSim's "
            "(paired bootstrap 95 %)</th></tr>" + rows + "</table>")


def render_report(audit: Audit, encoder, examples: int = 3, show_progress: bool = False) -> str:
    """The report's HTML (see the module docstring); ``show_progress``: a progress bar over each strategy's examples."""
    v = verdict(audit)
    k = audit.k
    overall = "".join(
        f"<tr><td>{html.escape(s)}</td><td>{_pct(audit.recall[s]['all'].value)}</td>"
        f"<td>[{audit.recall[s]['all'].interval[0]:.0%}, {audit.recall[s]['all'].interval[1]:.0%}]</td>"
        f"<td>{_signed(audit.deltas[s][0])} [{_signed(audit.deltas[s][1])}, {_signed(audit.deltas[s][2])}]</td></tr>"
        for s in audit.strategies)
    skipped = "".join(f"<li><code>{html.escape(n)}</code>: {html.escape(r)}</li>" for n, r in audit.skipped[:50])
    more = f"<li>&hellip; and {len(audit.skipped) - 50} more</li>" if len(audit.skipped) > 50 else ""
    lengths = {b: sum(1 for c in audit.lengths.values() if length_bin(c, audit.window) == b) for b in LENGTH_BINS}
    rivals = [s for s in audit.strategies if s != MAXSIM_WHOLE]
    rival = max(rivals, key=lambda s: (audit.recall[s]["all"].value, -audit.cost[s]["bytes/doc"], s))
    shown = list(dict.fromkeys([POOLED_CUT, rival]))
    judged = ""
    if audit.judged:
        judged = (f"<h2>Your judged queries</h2><p>{html.escape(audit.judged_name)}. These are real questions with "
                  "judgements: where they and the probes disagree, trust these.</p>" + _judged_table(audit))
    sections = [
        f"<h1>Late-interaction audit of <code>{html.escape(audit.folder)}</code></h1>",
        f"<div class=verdict><h2>Verdict</h2><p><b>{html.escape(v['choice'])}</b></p><p>{html.escape(v['why'])}</p>"
        f"<p><b>Cost.</b> {html.escape(v['cost'])}</p><p><b>How sure.</b> {html.escape(v['sure'])}</p></div>",
        "<h2>What was read</h2>",
        f"<p>{audit.n_docs:,} documents scored ({audit.kind}; {audit.n_listed:,} documents in the folder"
        + (f"; {audit.n_docs + audit.left_out:,} read, a sample spread over their sizes (--max-docs)"
           if audit.n_docs + audit.left_out < audit.n_listed else "")
        + (f", {audit.left_out:,} left out to keep memory bounded (at most {audit.settings['max_tokens']:,} tokens scored)" if audit.left_out else "")
        + f"). {len(audit.skipped)} file{'' if len(audit.skipped) == 1 else 's'} skipped" + (":" if skipped else ".") + "</p>"
        + (f"<ul>{skipped}{more}</ul>" if skipped else "")
        + "<p>Documents by length (the model sees " + f"{audit.window} text tokens at once): "
        + ", ".join(f"{html.escape(b)}: {n}" for b, n in lengths.items()) + ".</p>",
        "<h2>What probes measure, and what they do not</h2>", f"<p>{PROBES_MEASURE}</p>",
        f"<p>{len(audit.probes)} probes (seed {audit.seed}), stratified by document length and by where the sentence "
        f"sits (first window = its first {audit.window} tokens). k = {k}{_why_k(audit)}. Intervals: Wilson 95 % for each Recall@{k}; paired "
        "bootstrap 95 % (probes resampled 2,000 times) for each difference from MaxSim.</p>",
        judged,
        f"<h2>Recall@{k} on the probes</h2>",
        f"<table><tr><th>strategy</th><th>Recall@{k}</th><th>Wilson 95 %</th><th>minus MaxSim's (paired bootstrap 95 %)</th></tr>{overall}</table>",
        f"<h3>By document length</h3>{_figure(audit, LENGTH_BINS, f'Recall@{k} by document length')}{_recall_table(audit, LENGTH_BINS)}",
        f"<h3>By position in the document</h3>{_figure(audit, POSITION_BINS, f'Recall@{k} by where the probe sentence sits')}"
        f"{_recall_table(audit, POSITION_BINS)}",
        "<h2>Probes one strategy loses and the other finds</h2>",
        *[examples_html(audit, encoder, s, examples, show_progress) for s in shown],
        f"<h2>Cost at {audit.corpus_size:,} documents</h2>",
        f"<p>Vectors per document measured on the {audit.n_docs:,} documents; encoding time on a sample of them, "
        "encoded fresh on this machine (CPU), extrapolated linearly. Qdrant RAM: lesson 08's settings &mdash; token "
        "vectors as one multi-vector per point (MAX_SIM comparator, dot product, no HNSW graph: <code>m=0</code>, "
        "MaxSim scans or re-ranks pooled candidates), times Qdrant's 1.5 capacity-planning overhead; int8 keeps the "
        "float32 originals in RAM too (put them <code>on_disk</code> to save that). BM25 keeps an inverted index, "
        "not vectors.</p>",
        _cost_table(audit),
        f"<p class=muted>Model {html.escape(str(audit.settings['model']))}; chunks of {audit.settings['chunk_size']} "
        f"tokens (overlap an eighth) and sentence chunks; fused = reciprocal rank fusion of BM25 and the token chunks. "
        f"The audit took {audit.seconds:.0f} s. Made by <code>python -m lateint.audit</code>.</p>",
    ]
    data = json.dumps(figures(audit), sort_keys=True).replace("</", "<\\/")
    return ("<!DOCTYPE html><html lang=en><head><meta charset=utf-8><meta name=generator content=lateint.audit>"
            f"<title>Late-interaction audit</title><style>{_CSS}</style>"
            f'<script type="application/json" id="audit-figures">{data}</script></head><body>'
            + "\n".join(sections) + "</body></html>\n")


def figures(audit: Audit) -> dict:
    """The report's figures as plain data (embedded in the report as JSON, ``id="audit-figures"``): per strategy
    Recall@k overall and per bin with Wilson bounds, the difference from MaxSim with its bounds, vectors and bytes
    per document; the probe count, k, the corpus size, the verdict's choice and, with qrels, the judged table."""
    per = {}
    for s in audit.strategies:
        d, lo, hi = audit.deltas[s]
        per[s] = {"recall": {b: [sh.value if sh.n else None, *sh.interval, sh.n] for b, sh in audit.recall[s].items()},
                  "delta": [d, lo, hi], "vectors/doc": audit.cost[s]["vectors/doc"], "bytes/doc": audit.cost[s]["bytes/doc"]}
    return {"k": audit.k, "probes": len(audit.probes), "documents": audit.n_docs, "corpus size": audit.corpus_size,
            "choice": verdict(audit)["choice"], "strategies": per, "judged": audit.judged}


def read_figures(path: str | Path) -> dict:
    """:func:`figures` back from a report file; ``ValueError`` when the file is not an audit report."""
    text = Path(path).read_text(encoding="utf-8")
    start = text.find('<script type="application/json" id="audit-figures">')
    if start < 0:
        raise ValueError(f"{path} is not a report of lateint.audit (no audit figures in it).")
    start = text.index(">", start) + 1
    return json.loads(text[start : text.index("</script>", start)])


def write_report(path: str | Path, audit: Audit, encoder, examples: int = 3, show_progress: bool = False) -> Path:
    """Render the report and write it to ``path`` atomically; returns ``path``. ``show_progress``: as in
    :func:`render_report`."""
    text = render_report(audit, encoder, examples, show_progress)
    return write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
