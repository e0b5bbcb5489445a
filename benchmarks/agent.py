"""The agent loop, evaluated honestly: held-out questions and budget-matched single searches.

    python benchmarks/agent.py                    # the three question sets, pooled / MaxSim / BM25
    python benchmarks/agent.py --methods bm25     # no encoder needed
    python benchmarks/agent.py --write-readme     # also update benchmarks/README.md

For every question set and retrieval method, four strategies run through the same loop
(``lateint.lessons.agent_eval.budget_compare``): one search of top k, one search of top
k·calls, pseudo-relevance feedback with ``calls`` searches of top k, and the rule-based
agent with up to ``calls`` searches of top k. Reported: the share of questions with both
needed documents retrieved, Recall@k·calls, mean searches and documents per question, the
share that made more than one search, and the mean wall time per question (query encoding
and search included; best of ``--repeats`` runs).

Question sets: ``template`` is ``multihop_dataset()``, the 20 questions the rules were
written for; ``paraphrases`` and ``bridges`` are held out (``lateint.lessons.agent_questions``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import report, table  # noqa: E402

from lateint.lessons.agent_eval import compare_sets, pivot  # noqa: E402
from lateint.lessons.agent_questions import bridge_dataset, paraphrase_dataset  # noqa: E402
from lateint.lessons.failures import multihop_dataset  # noqa: E402

SETS = {
    "template (the rules' own)": multihop_dataset,
    "paraphrases (held out)": paraphrase_dataset,
    "bridges (held out)": bridge_dataset,
}


def measure(methods: list[str], k: int, calls: int, repeats: int) -> dict:
    """``compare_sets`` on the three sets; quality from the first run, time the best of ``repeats``."""
    encoder = None
    if set(methods) - {"bm25"}:
        from lateint import load_encoder

        encoder = load_encoder()
    datasets = {name: make() for name, make in SETS.items()}
    best = None
    for _ in range(repeats):
        out = compare_sets(datasets, methods, encoder, k=k, calls=calls)
        if best is None:
            best = out
        else:
            for key, row in out.items():
                best[key]["ms"] = min(best[key]["ms"], row["ms"])
    return best


def main(argv: list[str] | None = None) -> list[list]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", nargs="+", default=["pooled", "maxsim", "bm25"], choices=["pooled", "maxsim", "bm25"])
    p.add_argument("-k", type=int, default=1, help="documents per search")
    p.add_argument("--calls", type=int, default=2, help="searches the agent and the feedback baseline may make")
    p.add_argument("--repeats", type=int, default=2, help="times are the best of this many runs")
    p.add_argument("--write-readme", action="store_true", help="put the table into benchmarks/README.md")
    args = p.parse_args(argv)
    results = measure(args.methods, args.k, args.calls, args.repeats)
    budget = args.k * args.calls
    found, recall, ms = (pivot(results, key, spend=key == "all found") for key in ("all found", "recall", "ms"))
    quality = [
        [*name.split(" / "), f"{row['searches']:.2f}", f"{row['docs']:.2f}", f"{row['decomposed']:.2f}"]
        + [f"{row[m]:.2f} ({recall[name][m]:.3f})" for m in args.methods]
        for name, row in found.items()
    ]
    speed = [[*name.split(" / "), *(f"{row[m]:.1f}" for m in args.methods)] for name, row in ms.items()]
    sizes = ", ".join(f"{name}: {len(make().queries)} questions" for name, make in SETS.items())
    note = (f"{sizes}. Budget: {args.calls} searches of top {args.k}, or one search of top {budget}; "
            "loops keep only documents not seen before. Searches, documents and the share of questions the "
            "decomposer split are means per question and over the methods (they differ where a method's results "
            "change what the decomposer reads). Each method's cell: the share of questions with both needed "
            f"documents retrieved (Recall@{budget} in brackets).")
    timing = (f"Wall time per question (ms; decomposer, query encoding and search; mean over the questions, "
              f"best of {args.repeats} runs):")
    body = (f"{note}\n\n{table(['question set', 'strategy', 'searches', 'docs', 'decomposed', *args.methods], quality)}"
            f"\n\n{timing}\n\n{table(['question set', 'strategy', *args.methods], speed)}")
    report("agent", body, args.write_readme)
    return quality


if __name__ == "__main__":
    main()
