"""The training grid's verdict on the whole test sets, read from its results files (lesson 07).

``benchmarks/train_grid.py`` trains a pooled and a late-interaction head on N training queries and
appends one JSON line per evaluated model to ``benchmarks/train_grid_results.jsonl``; the last model
of each curve (N = all) is also scored on the whole test sets (rows with ``"scope": "full"``). Its
first model, the untrained one, scores exactly as the zero-shot model, whose whole-set figures
``benchmarks/retrieval.py`` wrote to ``benchmarks/retrieval_results.jsonl``. :func:`whole_set_rows`
puts the two ends of each curve side by side::

    rows = whole_set_rows(read_results(GRID_RESULTS), read_results(RETRIEVAL_RESULTS))
    print(format_whole_set(rows))

The files live in the repository (``benchmarks/``), not in the installed package: a lesson run
from a clone, Binder or ``make course`` reads them there; where they are missing (Colab, which
installs the package alone), :func:`read_results` downloads the same file from the repository.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..download import fetch_url

__all__ = ["GRID_RESULTS", "RETRIEVAL_RESULTS", "GRID_PLOT", "load_jsonl", "read_results", "zero_shot_full",
           "whole_set_rows", "format_whole_set"]

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
GRID_RESULTS = BENCHMARKS / "train_grid_results.jsonl"
RETRIEVAL_RESULTS = BENCHMARKS / "retrieval_results.jsonl"
GRID_PLOT = BENCHMARKS / "train_grid.png"
HEADS = ("pooled", "late")
# where a results file is fetched from when the package runs without the repository (Colab)
REPOSITORY_RAW = "https://raw.githubusercontent.com/lateint/lateint/main/benchmarks/"


def load_jsonl(path: str | Path) -> list[dict]:
    """The JSON objects of a JSON-lines file, one per non-empty line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: it is in the lateint repository's benchmarks/ folder, not in the installed "
            "package. Run the lesson from a clone (git clone https://github.com/lateint/lateint) or Binder, "
            "or read the same table in benchmarks/README.md.")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_results(path: str | Path, fetch: Callable[[str, Path], None] = fetch_url) -> list[dict]:
    """:func:`load_jsonl` of a results file in ``benchmarks/``; if the file is not there (the package
    installed without its repository), download it by name from the repository's main branch with
    ``fetch(url, dest)``. Raises FileNotFoundError, saying where the file lives, if both fail."""
    path = Path(path)
    if path.is_file():
        return load_jsonl(path)
    url = REPOSITORY_RAW + path.name
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / path.name
        try:
            fetch(url, dest)
        except OSError as err:
            raise FileNotFoundError(
                f"{path} not found and {url} could not be downloaded ({err}): the file is in the lateint "
                "repository's benchmarks/ folder. Run the lesson from a clone or Binder, or read the same "
                "table in benchmarks/README.md.") from err
        return load_jsonl(dest)


def zero_shot_full(retrieval_rows: list[dict]) -> dict[tuple[str, str], float]:
    """{(dataset, head): nDCG@10} on the whole test split, from ``benchmarks/retrieval.py``'s rows;
    head "late" is its method "maxsim" (an untrained late head scores exactly like it), "bm25" BM25."""
    names = {"pooled": "pooled", "maxsim": "late", "bm25": "bm25"}
    return {(r["dataset"], names[r["method"]]): r["ndcg@10"] for r in retrieval_rows
            if r.get("split") == "test" and r.get("method") in names}


def whole_set_rows(grid_rows: list[dict], retrieval_rows: list[dict]) -> list[dict]:
    """Each curve's two ends on the whole test sets: one dict per (train, eval, head) with keys
    train, eval, head, in_domain, n (training queries), steps, zero_shot, trained, change (trained
    minus zero-shot; None where no zero-shot figure exists) and bm25 (nDCG@10, or None). Sorted by
    train, eval, then pooled before late."""
    zero = zero_shot_full(retrieval_rows)
    full = [r for r in grid_rows if r.get("scope") == "full" and r["head"] in HEADS]
    if not full:
        raise ValueError("no whole-test-set rows (\"scope\": \"full\") in the grid results: run "
                         "`python benchmarks/train_grid.py run ... --n all` (it scores N = all on the whole sets)")
    out = []
    for r in sorted(full, key=lambda r: (r["train"], r["eval"], HEADS.index(r["head"]))):
        start = zero.get((r["eval"], r["head"]))
        out.append({"train": r["train"], "eval": r["eval"], "head": r["head"], "in_domain": r["train"] == r["eval"],
                    "n": r["n"], "steps": r["steps"], "zero_shot": start, "trained": r["ndcg@10"],
                    "change": None if start is None else r["ndcg@10"] - start,
                    "bm25": zero.get((r["eval"], "bm25"))})
    return out


def format_whole_set(rows: list[dict]) -> str:
    """A fixed-width text table of :func:`whole_set_rows` (nDCG@10 at three decimals)."""
    def f(x, fmt=".3f"):
        return "   n/a" if x is None else format(x, fmt)

    labels = [f"{r['train']} -> {r['eval']} ({'in' if r['in_domain'] else 'out of'} domain)" for r in rows]
    w = max(map(len, labels + ["train -> test"])) + 2
    lines = [f"{'train -> test':<{w}}{'head':<8}{'zero-shot':>10}{'trained':>9}{'change':>8}{'BM25':>7}  trained on"]
    for label, r in zip(labels, rows):
        lines.append(f"{label:<{w}}{r['head']:<8}{f(r['zero_shot']):>10}"
                     f"{f(r['trained']):>9}{f(r['change'], '+.3f'):>8}{f(r['bm25']):>7}  "
                     f"N = {r['n']:,}, {r['steps']} steps")
    return "\n".join(lines)
