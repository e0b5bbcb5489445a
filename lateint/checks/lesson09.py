"""Exercise 09's check: the audit's report was produced, and the decision written from it rests on its figures.

The decision is prose, so the check reads it the way a reviewer would skim it: which strategy it chooses,
which of the report's figures it quotes, and whether it says how sure it is. It does not judge whether
the choice is wise; an instructor reads that.
"""

from __future__ import annotations

import re
from pathlib import Path

from .harness import CheckFailed

__all__ = ["check_audit_decision", "figures_quoted"]

# words that name each strategy of the report, lower case
STRATEGY_WORDS = {
    "pooled, first window": ("pooled", "truncat", "first window", "one vector"),
    "MaxSim, first window": ("maxsim, first window", "maxsim on the first window", "maxsim first window"),
    "cram (one vector, all tokens)": ("cram",),
    "MaxSim, whole document": ("maxsim", "late interaction", "colbert", "whole document"),
    "BM25, whole text": ("bm25",),
    "fused: BM25 + chunks (RRF)": ("fused", "fusion", "rrf", "hybrid"),
}
SURE_WORDS = ("interval", "sure", "confiden", "uncertain", "probes", "noise", "significant")
MIN_WORDS = 30


def _renderings(x: float) -> set[str]:
    """How a figure can be written: a share as 0.67 / .67 / 67 % / 67.4 %, a count or size as is."""
    out = set()
    if x is None:
        return out
    for v in (x, 100 * x) if abs(x) <= 1 else (x,):
        out |= {f"{v:.0f}", f"{v:.1f}", f"{v:.2f}", f"{abs(v):.0f}", f"{abs(v):.1f}", f"{abs(v):.2f}"}
    return {r for r in out if r not in ("0", "0.0", "0.00", "1", "1.0", "1.00", "100", "100.0")}


def figures_quoted(decision: str, figures: dict) -> list[str]:
    """The numbers in ``decision`` that are figures of the report (:func:`lateint.audit.report.figures`)."""
    known = set()
    for key in ("probes", "documents", "corpus size"):
        known.add(str(figures[key]))
        known.add(f"{figures[key]:,}")
    for s in figures["strategies"].values():
        for value, lo, hi, n in s["recall"].values():
            for x in (value, lo, hi):
                known |= _renderings(x)
            known.add(str(n))
        for x in s["delta"]:
            known |= _renderings(x)
        known |= _renderings(s["vectors/doc"]) | {f"{s['bytes/doc']:,.0f}", f"{s['bytes/doc'] / 1000:.1f}"}
    for row in (figures.get("judged") or {}).values():
        for key in ("ndcg@10", "recall@100", "delta", "lo", "hi"):
            known |= _renderings(row[key]) | {f"{row[key]:.3f}", f"{abs(row[key]):.3f}"}
    numbers = re.findall(r"(?<![\w.@])[-+−]?(\d[\d,]*(?:\.\d+)?)", decision)  # not the 10 of nDCG@10
    numbers = [n.rstrip(",") for n in numbers]
    return [n for n in dict.fromkeys(numbers) if n in known or n.replace(",", "") in known]


def check_audit_decision(report: str | Path, decision: str) -> None:
    """Check that ``report`` is an audit report and that ``decision`` chooses a strategy, quotes at least two of
    the report's figures and says how sure it is."""
    from ..audit.report import read_figures

    if report is None or report is ...:
        raise CheckFailed("check_audit_decision: report is not set: write the audit's report first "
                          "(write_report(path, audit, enc), or python -m lateint.audit FOLDER --out PATH) and pass its path.")
    path = Path(report)
    if not path.is_file():
        raise CheckFailed(f"check_audit_decision: there is no report at {path}: run the audit and write its report "
                          "there first (write_report, or python -m lateint.audit FOLDER --out PATH).")
    try:
        figures = read_figures(path)
    except ValueError as e:
        raise CheckFailed(f"check_audit_decision: {e} Pass the HTML file the audit wrote.") from None
    if not isinstance(decision, str) or decision is ...:
        raise CheckFailed("check_audit_decision: decision must be your decision, written as a string (\"\"\"...\"\"\").")
    words = decision.split()
    if len(words) < MIN_WORDS:
        raise CheckFailed(f"check_audit_decision: the decision has {len(words)} words; write at least {MIN_WORDS}: "
                          "which strategy, why (the figures), what it costs and how sure you are.")
    lower = decision.lower()
    named = [s for s, keys in STRATEGY_WORDS.items() if any(k in lower for k in keys) or "chunk" in lower and "chunk" in s]
    if not named:
        raise CheckFailed("check_audit_decision: the decision names no strategy of the report (pooled, cram, chunks, "
                          "MaxSim, BM25, fused): say which one you would build.")
    quoted = figures_quoted(decision, figures)
    if len(quoted) < 2:
        raise CheckFailed(f"check_audit_decision: the decision quotes {len(quoted)} of the report's figures "
                          f"({', '.join(quoted) or 'none'}); a decision rests on figures: quote at least two as the "
                          "report prints them (a Recall@k, an interval bound, a difference, vectors per document, "
                          "the number of probes...).")
    if not any(w in lower for w in SURE_WORDS):
        raise CheckFailed("check_audit_decision: the decision does not say how sure it is: mention the interval, "
                          "the number of probes, or what the probes cannot tell you.")
    print(f"✓ check_audit_decision: the report of {figures['probes']} probes exists; the decision names "
          f"{len(named)} strateg{'y' if len(named) == 1 else 'ies'} and quotes at least two of its figures; an "
          "instructor reads whether the choice follows from them.")
