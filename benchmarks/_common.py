"""Shared helpers of the benchmark scripts: timing, the machine, tables, the README.

Every speed benchmark follows the same rules (see ``benchmarks/README.md``):
timings are the best of a few repeats (the machine is shared and noisy, the
minimum is the least disturbed run), every method is timed in the same run, and
what counts is the ratio between them.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"
_LOAD_AT_START = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def machine() -> str:
    """One line: CPU model and features, cores, torch threads, load average when the run started (and now)."""
    import torch

    from lateint.cpu import cpu_features

    now = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu_features().summary()}, {os.cpu_count()} cores, torch {torch.__version__} with "
        f"{torch.get_num_threads()} thread(s), load average {_LOAD_AT_START:.1f} at start and {now:.1f} at the end "
        f"on {os.cpu_count()} cores (other work shares the CPU)"
    )


def command() -> str:
    """The command line that ran this script, relative to the repository root."""
    return " ".join(["python", *map(shlex.quote, [_relative(sys.argv[0]), *sys.argv[1:]])])


def _relative(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(README.parents[1]))
    except ValueError:
        return path


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table; floats are printed with 3 significant digits."""

    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name: str, body: str, readme: Path = README) -> None:
    """Replace the text between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` in the README.

    Only the generated part changes; the prose around the markers is kept. Raises
    ``ValueError`` when the README lacks the markers (add them where the table belongs).
    """
    text = readme.read_text(encoding="utf-8")
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{readme} has no '{begin}' ... '{end}' markers; add them where the table belongs.")
    readme.write_text(pattern.sub(lambda _: f"{begin}\n{body.strip()}\n{end}", text), encoding="utf-8")
    print(f"wrote section {name!r} of {readme}")


def report(name: str, body: str, write: bool) -> None:
    """Print a generated section (command, machine, tables) and, with ``write``, put it in the README."""
    body = f"Command: `{command()}`\n\nMachine: {machine()}.\n\n{body.strip()}\n"
    print(body)
    if write:
        write_section(name, body)


def encoded_dataset(name: str, encoder=None):
    """``(ds, docs, queries)`` for a full BEIR test set, encoded once through the embedding cache.

    ``docs`` and ``queries`` are ``{"pooled": (n, dim), "tokens": [(L_i, dim), ...]}`` from one
    forward pass (see :func:`lateint.comparison.encode_corpus`). The first run of SciFact
    encodes 5,183 documents (minutes on 2 cores); later runs read the cache.
    """
    from lateint import load_encoder
    from lateint.comparison import encode_corpus
    from lateint.data import load_beir

    encoder = encoder or load_encoder()
    ds = load_beir(name)
    start = time.perf_counter()
    docs = encode_corpus(encoder, ds.doc_texts, "documents", show_progress=True)
    queries = encode_corpus(encoder, ds.query_texts, "queries", show_progress=False)
    print(f"{name}: {len(ds.doc_ids)} documents, {len(ds.query_ids)} queries, encoded or read from the cache "
          f"in {time.perf_counter() - start:.0f} s", flush=True)
    return ds, docs, queries

