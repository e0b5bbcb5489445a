"""MaxSim scoring speed: lateint against PyLate, a naive loop and the matmul ceiling.

    python benchmarks/maxsim_speed.py                           # 32 queries x 10,000 docs, dim 128 and 384
    python benchmarks/maxsim_speed.py --docs 2000 --dims 128    # a quick look
    python benchmarks/maxsim_speed.py --write-readme            # also update benchmarks/README.md

Shapes are those of a real collection: ``--queries`` queries of ``--query-tokens``
tokens (ColBERT pads queries to 32) against ``--docs`` documents whose lengths are
drawn uniformly from ``--min-tokens`` to ``--max-tokens``; random unit vectors
(speed does not depend on the values). Everything is timed in one run, as the
best of ``--repeats`` calls, and compared as ratios:

- ``MaxSimIndex.scores``: lateint's index; scores its flat storage block by
  block (``maxsim_flat``), no document padded;
- ``maxsim_scores``: lateint's batched function on ONE padded batch of the first
  ``--padded-docs`` documents (all padded to the longest, as a user who calls it
  directly would do; a padded batch of all 10,000 documents at dim 384 would
  need 4.6 GB);
- PyLate's ``colbert_scores`` on the same documents (for the index's row, padded in
  buckets of 64 documents of similar length, its best layout since it takes padded
  batches) and on the same padded batch (it builds the whole ``(nq, nd, Lq, Ld)``
  block, so it is fed documents in chunks; the fastest of a few chunk sizes is
  kept). PyLate is never a lateint dependency: it runs in a child process with
  the interpreter of a separate virtual environment (``--pylate-python``,
  default ``/tmp/pylate-venv/bin/python``), on the same tensors, and only
  ``pylate.scores`` is imported;
- the reference ``maxsim(q, d)`` in a Python loop over query-document pairs, on
  ``--naive-pairs`` pairs, extrapolated to all pairs;
- the ceiling: one plain matrix product of all real query tokens against all
  real document tokens (the same multiply-adds, no padding, no max), in
  blocks of 2, 4, 8 and 16 MiB of similarities written into one buffer; the
  fastest block size counts (which is fastest depends on the dtype and dim).

GFLOP/s counts the useful work only, ``2 * Lq * Ld * dim`` per pair over real
tokens, so padding shows up as lost speed. bf16 is timed only when the CPU has
native bf16 instructions (``avx512_bf16`` or ``amx_bf16``) unless ``--dtypes``
asks for it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
PYLATE_CHUNKS = (32, 128, 512)  # documents per colbert_scores call tried for PyLate
PYLATE_BUCKET = 64  # documents of similar length PyLate gets padded together, for the index's row


# ------------------------------------------------------------------- the data


def make_data(args: argparse.Namespace, dim: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random unit vectors: queries ``(nq, Lq, dim)``, all document tokens ``(T, dim)``, lengths ``(nd,)``."""
    gen = torch.Generator().manual_seed(args.seed)
    lengths = torch.randint(args.min_tokens, args.max_tokens + 1, (args.docs,), generator=gen)
    flat = torch.nn.functional.normalize(torch.randn(int(lengths.sum()), dim, generator=gen), dim=-1)
    queries = torch.nn.functional.normalize(torch.randn(args.queries, args.query_tokens, dim, generator=gen), dim=-1)
    return queries, flat, lengths


def length_buckets(lengths: torch.Tensor, bucket: int) -> list[list[int]]:
    """Document indices sorted by length, longest first, in groups of ``bucket``."""
    order = torch.argsort(lengths, descending=True).tolist()
    return [order[s : s + bucket] for s in range(0, len(order), bucket)]


# --------------------------------------------------------------- PyLate child


def fastest(fn, repeats: int) -> tuple[float, object]:
    """``(seconds of the fastest of repeats calls, the last result)``: ``lateint.lessons.cost.best_of``
    for the PyLate child, which must not import lateint."""
    times, out = [], None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def pylate_worker(path: str) -> None:
    """Runs under PyLate's interpreter: times ``colbert_scores`` on the tensors in ``path``.

    PyLate's environment has no lateint (nor its dependencies): this function imports only torch,
    the standard library and ``pylate.scores``, and times with :func:`fastest`.
    """
    from pylate.scores import colbert_scores

    best_of = fastest
    job = torch.load(path)
    torch.set_num_threads(job["threads"])
    Q, qm = job["Q"], job["q_mask"].float()
    timings, scores = {}, {}

    def chunked(D: torch.Tensor, dm: torch.Tensor, chunk: int) -> torch.Tensor:
        return torch.cat(
            [colbert_scores(Q, D[s : s + chunk], qm, dm[s : s + chunk]) for s in range(0, D.shape[0], chunk)], dim=1
        )

    # The padded batch: keep the fastest chunk size.
    D, dm = job["D"], job["d_mask"].float()
    best = None
    for chunk in PYLATE_CHUNKS:
        t, s = best_of(lambda chunk=chunk: chunked(D, dm, chunk), job["repeats"])
        if best is None or t < best[0]:
            best = (t, s, chunk)
    timings["padded"], scores["padded"], timings["padded_chunk"] = best
    # All documents, in length buckets (PyLate's side of the index's row).
    if job.get("buckets") is not None:
        buckets = [(D.to(Q.dtype), dm.float()) for D, dm in job["buckets"]]
        chunk = timings["padded_chunk"]

        def all_buckets() -> torch.Tensor:
            return torch.cat([chunked(Db, dmb, chunk) for Db, dmb in buckets], dim=1)

        timings["buckets"], scores["buckets"] = best_of(all_buckets, job["repeats"])
    import pylate

    timings["version"] = pylate.__version__
    torch.save(scores, path + ".scores")
    print(json.dumps(timings))


def run_pylate(args, Q, q_mask, D, d_mask, docs, lengths, bucket: int | None) -> dict | None:
    """Start the PyLate child on these tensors; returns its timings and scores (``None`` if unavailable).

    With ``bucket``, the child also scores all documents in length buckets of that many (built
    here and written to the job file, then freed, so the two processes do not both hold them).
    """
    from lateint.similarity import pad

    if args.no_pylate:
        return None
    if not Path(args.pylate_python).exists():
        print(f"PyLate skipped: no interpreter at {args.pylate_python} (see --pylate-python).")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "job.pt")
        buckets = None if bucket is None else [pad([docs[i] for i in b]) for b in length_buckets(lengths, bucket)]
        job = {"Q": Q, "q_mask": q_mask, "D": D, "d_mask": d_mask, "buckets": buckets,
               "threads": torch.get_num_threads(), "repeats": args.repeats}
        torch.save(job, path)
        del job, buckets
        env = {**os.environ, "PYLATE_SCORES_BACKEND": "torch", "PYTHONPATH": ""}
        proc = subprocess.run(
            [args.pylate_python, __file__, "--pylate-worker", path], capture_output=True, text=True, env=env, check=False
        )
        if proc.returncode != 0:
            print(f"PyLate child failed:\n{proc.stderr[-2000:]}")
            return None
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["scores"] = torch.load(path + ".scores")
        return result


# ------------------------------------------------------------------ the runs


CEILING_BLOCKS = (2, 4, 8, 16)  # MiB of similarities per product tried for the ceiling; the fastest counts


def ceiling(queries: torch.Tensor, flat: torch.Tensor, block_bytes: int = 8 * 2**20):
    """A function computing every query token . every document token, ``block_bytes`` of similarities at a time."""
    q_T = queries.reshape(-1, queries.shape[-1]).T.contiguous()
    rows = max(1, block_bytes // (q_T.shape[1] * flat.element_size()))
    buffer = flat.new_empty((rows, q_T.shape[1]))

    def run() -> None:
        for s in range(0, flat.shape[0], rows):
            c = min(rows, flat.shape[0] - s)
            torch.mm(flat[s : s + c], q_T, out=buffer[:c])

    return run


def max_pass(queries: torch.Tensor, flat: torch.Tensor, lengths: torch.Tensor, block_bytes: int):
    """A function doing only the other half of the index's kernel: each block of ``block_bytes`` of
    similarities (one buffer, filled once) sent to its documents' running best with ``scatter_reduce_``,
    block by block over all document tokens, as :func:`lateint.index.maxsim_flat` does after each product."""
    from lateint.index import _into_best

    columns = queries.shape[0] * queries.shape[1]
    rows = max(1, block_bytes // (columns * flat.element_size()))
    sim = torch.randn(min(rows, flat.shape[0]), columns, generator=torch.Generator().manual_seed(0)).to(flat.dtype)
    doc_of_row = torch.repeat_interleave(torch.arange(len(lengths)), lengths)
    best = flat.new_full((len(lengths), columns), float("-inf"))

    def run() -> None:
        for s in range(0, flat.shape[0], rows):
            ids = doc_of_row[s : s + rows]
            _into_best(best, ids, sim[: len(ids)])

    return run


def naive_seconds_per_pair(queries: torch.Tensor, docs: list[torch.Tensor], n_pairs: int, seed: int) -> float:
    """Seconds per pair of the reference ``maxsim`` in a Python loop, measured on ``n_pairs`` random pairs."""
    from lateint.similarity import maxsim

    gen = torch.Generator().manual_seed(seed)
    qi = torch.randint(0, queries.shape[0], (n_pairs,), generator=gen).tolist()
    di = torch.randint(0, len(docs), (n_pairs,), generator=gen).tolist()
    start = time.perf_counter()
    for a, b in zip(qi, di):
        maxsim(queries[a], docs[b])
    return (time.perf_counter() - start) / n_pairs


def interleaved(fns: list, repeats: int) -> list[tuple[float, object]]:
    """``(best seconds, last result)`` of each function, timed in ``repeats`` interleaved rounds."""
    best, out = [float("inf")] * len(fns), [None] * len(fns)
    for _ in range(max(1, repeats)):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            out[i] = fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return list(zip(best, out))


def agreement(fp32: torch.Tensor, bf16: torch.Tensor, Lq: int, dim: int, k: int = 10) -> str:
    """How far bf16 scores ``(nq, nd)`` are from fp32 ones: the largest difference and the top-``k`` overlap."""
    diff = (bf16 - fp32).abs().max().item()
    same = [set(a.topk(k).indices.tolist()) == set(b.topk(k).indices.tolist()) for a, b in zip(fp32, bf16)]
    overlap = sum(len(set(a.topk(k).indices.tolist()) & set(b.topk(k).indices.tolist())) for a, b in zip(fp32, bf16))
    line = (f"dim {dim}: bf16 against fp32 (MaxSimIndex, all documents): largest score difference {diff:.3f} "
            f"(the stated tolerance is 0.01 × Lq = {0.01 * Lq:.2f}); the same top {k} for {sum(same)} of "
            f"{len(same)} queries, {overlap / (k * len(same)):.1%} of top-{k} documents shared (random vectors: "
            f"near-ties everywhere, a harder case than real embeddings)")
    print(line, flush=True)
    if diff > 0.01 * Lq:
        raise SystemExit(f"bf16 scores differ from fp32 by {diff} > 0.01 × Lq: the bf16 path is broken.")
    return line


def bench_dim(args: argparse.Namespace, dim: int, dtypes: list[str], notes: list[str]) -> list[dict]:
    """All rows of the table for one dimension; appends the bf16-against-fp32 check to ``notes``."""
    from lateint.index import MaxSimIndex, maxsim_scores
    from lateint.similarity import pad

    queries, flat, lengths = make_data(args, dim)
    nq, Lq, _ = queries.shape
    docs = list(torch.split(flat, lengths.tolist()))
    q_mask = torch.ones(nq, Lq, dtype=torch.bool)
    n_pad = min(args.padded_docs, args.docs)
    D, d_mask = pad(docs[:n_pad])  # zero-padded (n_pad, Lmax, dim) and its bool mask
    sizes = {"all": (args.docs, int(lengths.sum())), "padded": (n_pad, int(lengths[:n_pad].sum()))}
    rows, by_dtype = [], {}

    def row(method: str, dtype: str, which: str, seconds: float, ceil_s: float, pylate_s: float | None = None):
        n_docs, tokens = sizes[which]
        flops = 2.0 * nq * Lq * tokens * dim
        rows.append({
            "dim": dim, "dtype": dtype, "method": method, "docs": n_docs, "seconds": seconds,
            "pairs_per_s": nq * n_docs / seconds, "gflops": flops / seconds / 1e9,
            "vs_pylate": None if pylate_s is None else pylate_s / seconds,
            "of_ceiling": ceil_s / seconds,
        })

    for dtype in dtypes:
        dt = DTYPES[dtype]
        Qd, Dd, flat_d = queries.to(dt), D.to(dt), flat.to(dt)
        pylate = run_pylate(args, Qd, q_mask, Dd, d_mask, [d.to(dt) for d in docs], lengths, PYLATE_BUCKET)
        index = MaxSimIndex([str(i) for i in range(args.docs)], docs, dtype=dt)
        if pylate is not None:
            print(f"dim {dim} {dtype}: PyLate {pylate.get('version')} padded {pylate['padded']:.2f} s "
                  f"(chunk {pylate['padded_chunk']}), buckets {pylate.get('buckets', float('nan')):.2f} s", flush=True)
        # lateint and the ceiling in interleaved rounds: on a loaded machine a burst of other work
        # then hits all three alike, and the best round of each counts
        timed = interleaved([
            *(ceiling(Qd, flat_d, mib * 2**20) for mib in CEILING_BLOCKS),
            *(max_pass(Qd, flat_d, lengths, mib * 2**20) for mib in CEILING_BLOCKS),
            lambda Qd=Qd, Dd=Dd: maxsim_scores(Qd, Dd, q_mask, d_mask),
            lambda index=index, Qd=Qd: index.scores(list(Qd)),
        ], args.repeats)
        n = len(CEILING_BLOCKS)
        ceil_all = min(seconds for seconds, _ in timed[:n])
        # the best any kernel can do that writes a block of similarities and then reads it for the max
        unfused = min(timed[i][0] + timed[n + i][0] for i in range(n))
        (t_pad, ours_pad), (t_index, ours_index) = timed[2 * n :]
        ceil_pad = ceil_all * sizes["padded"][1] / sizes["all"][1]
        print(f"dim {dim} {dtype}: ceiling {ceil_all:.2f} s, index {t_index:.2f} s", flush=True)
        if index is not None:
            by_dtype[dtype] = ours_index
            if dtype == "bf16" and "fp32" in by_dtype:
                notes.append(agreement(by_dtype["fp32"], ours_index, Lq, dim))
            row("lateint MaxSimIndex.scores (flat, no padding)", dtype, "all", t_index, ceil_all,
                pylate and pylate.get("buckets"))
        row("lateint maxsim_scores (one padded batch)", dtype, "padded", t_pad, ceil_pad, pylate and pylate["padded"])
        if pylate is not None:
            atol = 1e-3 if dtype == "fp32" else 0.5
            diff = (pylate["scores"]["padded"] - ours_pad).abs().max().item()
            if index is not None:
                row("PyLate colbert_scores (all documents, length buckets)", dtype, "all", pylate["buckets"], ceil_all,
                    pylate["buckets"])
                diff = max(diff, (pylate["scores"]["buckets"] - ours_index[:, torch.argsort(lengths, descending=True)])
                           .abs().max().item())
            row(f"PyLate colbert_scores (same padded batch, {pylate['padded_chunk']} docs per call)", dtype,
                "padded", pylate["padded"], ceil_pad, pylate["padded"])
            print(f"dim {dim} {dtype}: largest |PyLate - lateint| score difference {diff:.2e}")
            if diff > atol:
                raise SystemExit(f"PyLate and lateint disagree by {diff} (> {atol}): the comparison is void.")
        if dtype == "fp32":
            per_pair = naive_seconds_per_pair(queries, docs, args.naive_pairs, args.seed)
            row(f"reference maxsim() loop ({args.naive_pairs} pairs, extrapolated)", dtype, "all",
                per_pair * nq * args.docs, ceil_all, pylate and pylate.get("buckets"))
        row("ceiling: plain matmul, same multiply-adds", dtype, "all", ceil_all, ceil_all,
            pylate and pylate.get("buckets"))
        row("bound without fusion: the ceiling's product, then the index's max pass alone", dtype, "all",
            unfused, ceil_all, pylate and pylate.get("buckets"))
    return rows


def median_row(same: tuple[dict, ...]) -> dict:
    """One row from the same row of several runs: every number is the median over the runs."""
    out = dict(same[0])
    for key, value in out.items():
        if isinstance(value, float) and all(r[key] is not None for r in same):
            out[key] = statistics.median(r[key] for r in same)
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, default=10_000)
    p.add_argument("--padded-docs", type=int, default=2_000, help="documents in the one padded batch")
    p.add_argument("--queries", type=int, default=32)
    p.add_argument("--query-tokens", type=int, default=32)
    p.add_argument("--min-tokens", type=int, default=50)
    p.add_argument("--max-tokens", type=int, default=300)
    p.add_argument("--dims", type=int, nargs="+", default=[128, 384])
    p.add_argument("--dtypes", nargs="+", choices=sorted(DTYPES), default=None,
                   help="default: fp32, plus bf16 when the CPU has native bf16 instructions")
    p.add_argument("--repeats", type=int, default=3,
                   help="timings are the best of this many calls (lateint and the ceiling: interleaved rounds)")
    p.add_argument("--runs", type=int, default=1,
                   help="repeat the whole measurement; every figure is the median over the runs (a loaded machine)")
    p.add_argument("--naive-pairs", type=int, default=2_000)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--pylate-python", default="/tmp/pylate-venv/bin/python",
                   help="python of a virtual environment where pylate is installed")
    p.add_argument("--no-pylate", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write-readme", action="store_true", help="put the table into benchmarks/README.md")
    p.add_argument("--pylate-worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.pylate_worker:
        return pylate_worker(args.pylate_worker)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import report, table

    from lateint.cpu import cpu_features

    if args.threads:
        torch.set_num_threads(args.threads)
    cpu = cpu_features()
    dtypes = args.dtypes or (["fp32", "bf16"] if cpu.native_bf16 else ["fp32"])
    skipped = ""
    if "bf16" not in dtypes:
        skipped = (" bf16 skipped: this CPU has no native bf16 (AVX512-BF16 or AMX), where bf16 is emulated and "
                   "slower than fp32; `--dtypes fp32 bf16` times it anyway.")
        print(skipped.strip())
    notes: list[str] = []
    runs = []
    for run in range(args.runs):
        print(f"run {run + 1} of {args.runs}, load average {os.getloadavg()[0]:.1f}", flush=True)
        runs.append([r for dim in args.dims for r in bench_dim(args, dim, dtypes, notes if run == 0 else [])])
    rows = [median_row(same) for same in zip(*runs)]

    headers = ["dim", "dtype", "method", "docs", "seconds", "pairs/s", "GFLOP/s", "× PyLate", "of ceiling"]
    body = table(headers, [
        [r["dim"], r["dtype"], r["method"], r["docs"], r["seconds"], r["pairs_per_s"], r["gflops"],
         "" if r["vs_pylate"] is None else f"{r['vs_pylate']:.2f}×", f"{r['of_ceiling']:.0%}"]
        for r in rows
    ])
    note = (
        f"{args.queries} queries of {args.query_tokens} tokens; documents of {args.min_tokens}–{args.max_tokens} "
        f"tokens (uniform); best of {args.repeats} calls, median of {args.runs} run(s). `× PyLate` compares with PyLate on the same batches "
        f"(the index row on all documents, PyLate's in length buckets of 64; the padded row with the same padded batch). "
        f"The bound row adds the ceiling's product and the index's max pass timed alone (`scatter_reduce_` over "
        f"the same blocks), at the block size where their sum is least: no kernel that writes the similarities "
        f"and then reads them for the max, as every kernel built of torch's operations does, beats it. "
        f"CPU: {cpu.summary()}.{skipped}"
    )
    checks = "".join(f"\n- {line}." for line in notes)
    report(f"maxsim_speed_{cpu.kind}", f"{note}\n{checks}\n\n{body}", args.write_readme)
    return rows


if __name__ == "__main__":
    main()
