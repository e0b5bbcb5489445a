"""The scarce-data and out-of-domain experiment: train both heads on N queries, test in and out of domain.

    python benchmarks/train_grid.py run  --train scifact nfcorpus --n 0 50 200 800 all --seeds 3
    python benchmarks/train_grid.py report          # table + plot from the results file

``run`` trains, for every training set, every N and every seed (seeds 0..s-1 where N <= 200, seed
0 above), a pooled head and a late-interaction head with :func:`lateint.train.train` on the same
pairs, steps and seed, and evaluates each on every evaluation set (nDCG@10): its own domain's
test split and the other's. N = 0 is the untrained model (:func:`lateint.train.init_head`), i.e.
the zero-shot all-MiniLM-L6-v2, pooled or MaxSim. BM25 is evaluated once per evaluation set.

Every N trains for the same number of steps (``--steps``), so N changes the data, not the compute.
Evaluation uses fixed slices of the test splits (``lateint.data.subsample``, seed 0: by default
lesson 04's, 30 SciFact test queries with their judged abstracts and 90 others, 15 NFCorpus test
queries with theirs and 40 others) so the grid fits a shared CPU; ``--full-eval`` scores the whole test sets instead. Each finished row is appended
to ``--out`` (JSON lines) at once, and rows already there are skipped, so a run can be resumed.
``report`` prints the markdown table (mean and spread over seeds) and draws nDCG@10 against N
(log scale) for both heads, in and out of domain, into ``--plot``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import command, machine, table  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "train_grid_results.jsonl"
PLOT = HERE / "train_grid.png"
HEADS = ("pooled", "late")


def _key(row: dict) -> tuple:
    return (row["train"], row["n"], row["seed"], row["head"], row["eval"])


def _eval_sets(names: list[str], slices: str, full: bool) -> dict:
    """Test split of each dataset, or its slice ``name=queries+distractors`` (lateint.data.subsample, seed 0)."""
    from lateint.data import load_beir, subsample

    sizes = {k: tuple(map(int, v.split("+"))) for k, v in (item.split("=") for item in slices.split(","))}
    out = {}
    for name in names:
        ds = load_beir(name)
        if not full and name not in sizes:
            raise SystemExit(f"--eval-slices names no slice for {name}; add {name}=QUERIES+DISTRACTORS or use --full-eval")
        out[name] = ds if full else subsample(ds, *sizes[name], seed=0)
    return out


def run(args: argparse.Namespace) -> None:
    import torch

    from lateint.bm25 import BM25
    from lateint.data import load_beir
    from lateint.encoders import load_encoder
    from lateint.evaluate import evaluate
    from lateint.train import init_head, train, training_pairs

    if args.threads:
        torch.set_num_threads(args.threads)
    # MiniLM reads 256 tokens; most SciFact/NFCorpus abstracts are longer and are cut (as in every lesson).
    warnings.filterwarnings("ignore", message=r".*longer than the \d+-token limit")
    out = Path(args.out)
    done = {_key(json.loads(line)) for line in out.read_text().splitlines() if line.strip()} if out.exists() else set()
    evals = _eval_sets(sorted(set(args.train) | set(args.eval or [])), args.eval_slices, args.full_eval)
    setup = {"steps": args.steps, "batch_size": args.batch_size, "train_layers": args.train_layers, "lr": args.lr,
             "hard_negatives": args.hard_negatives, "eval_slices": "full test sets" if args.full_eval else args.eval_slices,
             "machine": machine(),
             "command": command()}

    def write(row: dict) -> None:
        with out.open("a") as f:
            f.write(json.dumps({**row, **setup}) + "\n")
        done.add(_key(row))
        print(json.dumps({k: row[k] for k in ("train", "n", "seed", "head", "eval", "ndcg@10")}), flush=True)

    for name, ds in evals.items():
        row = {"train": "-", "n": 0, "seed": 0, "head": "bm25", "eval": name}
        if _key(row) not in done:
            run_ = BM25(ds.doc_ids, ds.doc_texts).run(ds.query_texts, ds.query_ids, k=100)
            write({**row, **evaluate(run_, ds.qrels, ["ndcg@10"]), "train_s": 0.0})

    base = load_encoder(device="cpu")
    train_sets = {name: load_beir(name, split="train") for name in args.train}
    sizes = sorted({0 if n == "0" else n for n in args.n}, key=lambda n: (n == "all", 0 if n == "all" else int(n)))
    for n_arg in sizes:  # small N first, for every training set, so a cut-short run still has whole curves' starts
        for train_name, train_ds in train_sets.items():
            n = len(train_ds.qrels) if n_arg == "all" else int(n_arg)
            name = train_name if n else "-"  # N = 0 is the same untrained model for every training set
            for seed in range(args.seeds) if 0 < n <= 200 else range(1):
                for kind in HEADS:
                    todo = [e for e in evals if _key({"train": name, "n": n, "seed": seed, "head": kind, "eval": e}) not in done]
                    if not todo:
                        continue
                    t = time.perf_counter()
                    if n == 0:
                        head = init_head(kind, encoder=base)
                    else:
                        pairs = training_pairs(train_ds, n, seed=seed, hard_negatives=args.hard_negatives)
                        layers = args.train_layers if args.train_layers in ("all", "projection") else int(args.train_layers)
                        head = train(pairs, kind, encoder=base, steps=args.steps, batch_size=args.batch_size,
                                     train_layers=layers, lr=args.lr, seed=seed, show_progress=False)
                    train_s = time.perf_counter() - t
                    for e in todo:
                        metrics = head.evaluate(evals[e], ["ndcg@10"])
                        losses = head.losses[-10:]
                        write({"train": name, "n": n, "seed": seed, "head": kind, "eval": e, **metrics,
                               "train_s": round(train_s, 1), "final_loss": sum(losses) / len(losses) if losses else None})


def _load(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _cell(values: list[float] | None) -> str:
    if not values:
        return "not run"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f} ({len(values)} seeds)"


def summary(rows: list[dict]) -> dict:
    """{(train, eval, head, n): [nDCG@10 per seed]}; N = 0 rows (train '-') count for every training set."""
    trains = sorted({r["train"] for r in rows if r["train"] != "-"})
    out: dict = {}
    for r in rows:
        if r["head"] == "bm25":
            continue
        for t in trains if r["train"] == "-" else [r["train"]]:
            out.setdefault((t, r["eval"], r["head"], r["n"]), []).append(r["ndcg@10"])
    return out


def report(args: argparse.Namespace) -> None:
    rows = _load(args.out)
    cells = summary(rows)
    bm25 = {r["eval"]: r["ndcg@10"] for r in rows if r["head"] == "bm25"}
    ns = sorted({k[3] for k in cells})
    lines = []
    for (t, e) in sorted({k[:2] for k in cells}):
        where = "in domain" if t == e else "out of domain"
        for head in HEADS:
            lines.append([f"{t} → {e} ({where})", head, *[_cell(cells.get((t, e, head, n))) for n in ns],
                          f"{bm25.get(e, float('nan')):.3f}"])
    print(table(["train → test", "head", *[f"N = {n}" for n in ns], "BM25"], lines))
    print(f"\nSetup: {json.dumps({k: rows[-1][k] for k in ('steps', 'batch_size', 'train_layers', 'lr', 'hard_negatives', 'eval_slices', 'machine', 'command')})}")
    _plot(cells, bm25, args.plot)
    print(f"plot: {args.plot}")


def _plot(cells: dict, bm25: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = sorted({k[:2] for k in cells})
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 3.6), sharey=False, squeeze=False)
    for ax, (t, e) in zip(axes[0], pairs):
        for head, style in (("pooled", "o--"), ("late", "s-")):
            ns = sorted(n for (tt, ee, h, n) in cells if (tt, ee, h) == (t, e, head))
            xs = [max(n, 10) for n in ns]  # N = 0 drawn at 10 on the log axis
            means = [statistics.mean(cells[(t, e, head, n)]) for n in ns]
            errs = [statistics.stdev(cells[(t, e, head, n)]) if len(cells[(t, e, head, n)]) > 1 else 0 for n in ns]
            ax.errorbar(xs, means, yerr=errs, fmt=style, capsize=3, label="MaxSim (late)" if head == "late" else "pooled")
        if e in bm25:
            ax.axhline(bm25[e], color="grey", lw=1, ls=":", label="BM25")
        ax.set_xscale("log")
        ax.set_title(f"train {t} → test {e}\n({'in' if t == e else 'out of'} domain)", fontsize=10)
        ax.set_xlabel("training queries N (N = 0 drawn at 10)")
        ax.set_ylabel("nDCG@10 (evaluation slice)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train and evaluate (resumable)")
    r.add_argument("--train", nargs="+", default=["scifact", "nfcorpus"])
    r.add_argument("--eval", nargs="*", default=None, help="evaluation sets (default: the training sets)")
    r.add_argument("--n", nargs="+", default=["0", "50", "200", "800", "all"], help="training queries; 'all' for every one")
    r.add_argument("--seeds", type=int, default=3, help="seeds for N <= 200 (one seed above)")
    r.add_argument("--steps", type=int, default=100)
    r.add_argument("--batch-size", type=int, default=16)
    r.add_argument("--train-layers", default="2", help="'projection', 'all' or a number of top layers")
    r.add_argument("--lr", type=float, default=1e-4)
    r.add_argument("--hard-negatives", type=int, default=0)
    r.add_argument("--eval-slices", default="scifact=30+90,nfcorpus=15+40",
                   help="test slices: name=queries+distractors,... (default: lesson 04's slices)")
    r.add_argument("--full-eval", action="store_true", help="evaluate on the whole test sets")
    r.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    r.add_argument("--out", default=str(OUT))
    rep = sub.add_parser("report", help="markdown table and plot from the results")
    rep.add_argument("--out", default=str(OUT))
    rep.add_argument("--plot", default=str(PLOT))
    args = p.parse_args(argv)
    run(args) if args.cmd == "run" else report(args)


if __name__ == "__main__":
    main()
