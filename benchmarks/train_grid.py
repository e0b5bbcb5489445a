"""The scarce-data and out-of-domain experiment: train both heads on N queries, test in and out of domain.

    python benchmarks/train_grid.py run  --train scifact nfcorpus --n 0 50 200 800 all --seeds 3
    python benchmarks/train_grid.py report          # table + plot from the results file

``run`` trains, for every training set, every N and every seed (seeds 0..s-1 where N <= 200, seed
0 above), a pooled head and a late-interaction head with :func:`lateint.train.train` on the same
pairs, steps and seed, and evaluates each on every evaluation set (nDCG@10): its own domain's
test split and the other's. N = 0 is the untrained model (:func:`lateint.train.init_head`), i.e.
the zero-shot all-MiniLM-L6-v2, pooled or MaxSim. BM25 is evaluated once per evaluation set.

Every N trains for ``--steps`` optimiser steps (default 30 of 16 pairs), or one pass over its N
queries if that is more (``--min-epochs``): up to N = 480 the compute is the same and only the data
changes; above, each query is still seen once (N = 800: 50 steps; SciFact's 809: 51; NFCorpus's
2,590: 162). Evaluation uses fixed slices of the test splits (``lateint.data.subsample``, seed 0: by
default lesson 04's, 30 SciFact test queries with their judged abstracts and 90 others, 15 NFCorpus
test queries with theirs and 40 others) so the grid fits a shared CPU; the last model of each curve
(N = all) is also scored on the whole test sets (its first, the zero-shot model, is
``benchmarks/retrieval.py``'s figure), and ``--full-eval`` scores every model on them instead of the
slices. Each finished row is appended to ``--out`` (JSON lines) at once, and rows already there are
skipped, so a run can be resumed, and two runs with different ``--heads`` can share the work.
``report`` prints the markdown tables (mean and spread over seeds) and draws nDCG@10 against N
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
    return (row["train"], row["n"], row["seed"], row["head"], row["eval"], row.get("scope", "slice"))


def _done(out: Path) -> set[tuple]:
    """The keys of the rows already in the results file."""
    return {_key(json.loads(line)) for line in out.read_text().splitlines() if line.strip()} if out.exists() else set()


def _writer(out: Path, args: argparse.Namespace, done: set[tuple]):
    """``write(row)``: append a result row (with the run's setup) to ``out`` once, and print it."""
    setup = {"batch_size": args.batch_size, "train_layers": args.train_layers, "lr": args.lr,
             "hard_negatives": args.hard_negatives, "machine": machine(), "command": command()}

    def write(row: dict) -> None:
        if _key(row) in done:
            return
        slices = "full test sets" if row["scope"] == "full" else args.eval_slices
        with out.open("a") as f:
            f.write(json.dumps({**row, **setup, "eval_slices": slices}) + "\n")
        done.add(_key(row))
        print(json.dumps({k: row[k] for k in ("train", "n", "seed", "head", "eval", "scope", "ndcg@10")}), flush=True)

    return write


def _eval_sets(names: list[str], slices: str, full: bool, final_full: bool) -> dict:
    """``{(name, scope): dataset}``: each test split's slice ``name=queries+distractors``
    (lateint.data.subsample, seed 0; scope ``"slice"``), or the whole test split (scope ``"full"``:
    with ``full`` instead of the slices, with ``final_full`` beside them)."""
    from lateint.data import load_beir, subsample

    sizes = {k: tuple(map(int, v.split("+"))) for k, v in (item.split("=") for item in slices.split(","))}
    out = {}
    for name in names:
        ds = load_beir(name)
        if not full:
            if name not in sizes:
                raise SystemExit(f"--eval-slices names no slice for {name}; add {name}=QUERIES+DISTRACTORS or use --full-eval")
            out[(name, "slice")] = subsample(ds, *sizes[name], seed=0)
        if full or final_full:
            out[(name, "full")] = ds
    return out


def steps_for(n: int, min_steps: int, batch_size: int, min_epochs: int) -> int:
    """Optimiser steps for ``n`` training queries: ``min_steps``, or ``min_epochs`` passes over the
    ``n`` pairs if that is more (so every query is seen at least ``min_epochs`` times)."""
    return max(min_steps, min_epochs * -(-n // batch_size))


def run(args: argparse.Namespace) -> None:
    import torch

    from lateint.bm25 import BM25
    from lateint.data import load_beir
    from lateint.encoders import load_encoder
    from lateint.metrics import evaluate
    from lateint.train import init_head, train, training_pairs

    if args.threads:
        torch.set_num_threads(args.threads)
    # MiniLM reads 256 tokens; most SciFact/NFCorpus abstracts are longer and are cut (as in every lesson).
    warnings.filterwarnings("ignore", message=r".*longer than the \d+-token limit")
    out = Path(args.out)
    done = _done(out)
    evals = _eval_sets(sorted(set(args.train) | set(args.eval or [])), args.eval_slices, args.full_eval,
                       args.final_full_eval)
    write = _writer(out, args, done)

    for (name, scope), ds in evals.items():
        row = {"train": "-", "n": 0, "seed": 0, "head": "bm25", "eval": name, "scope": scope}
        if _key(row) not in done:
            run_ = BM25(ds.doc_ids, ds.doc_texts).run(ds.query_texts, ds.query_ids, k=100)
            write({**row, **evaluate(run_, ds.qrels, ["ndcg@10"]), "train_s": 0.0, "steps": 0})

    base = load_encoder(device="cpu")
    finals: list = []  # (row, head) of each curve's last model, for the whole test sets
    train_sets = {name: load_beir(name, split="train") for name in args.train}
    sizes = sorted({0 if n == "0" else n for n in args.n}, key=lambda n: (n == "all", 0 if n == "all" else int(n)))
    for n_arg in sizes:  # small N first, for every training set, so a cut-short run still has whole curves' starts
        for train_name, train_ds in train_sets.items():
            n = len(train_ds.qrels) if n_arg == "all" else int(n_arg)
            name = train_name if n else "-"  # N = 0 is the same untrained model for every training set
            # the whole test sets also score each curve's last model (N = all); its first, the zero-shot model,
            # is benchmarks/retrieval.py's (the same scores: tests/test_train.py), which `report` reads
            scopes = {"slice", "full"} if args.full_eval or n_arg == "all" else {"slice"}
            steps = steps_for(n, args.steps, args.batch_size, args.min_epochs) if n else 0
            for seed in range(args.seeds) if 0 < n <= 200 else range(1):
                for kind in args.heads:
                    done |= _done(out)  # another run on the same file may have finished this model meanwhile
                    todo = [(e, scope) for (e, scope) in evals if scope in scopes and _key(
                        {"train": name, "n": n, "seed": seed, "head": kind, "eval": e, "scope": scope}) not in done]
                    if not todo:
                        continue
                    t = time.perf_counter()
                    if n == 0:
                        head = init_head(kind, encoder=base)
                    else:
                        pairs = training_pairs(train_ds, n, seed=seed, hard_negatives=args.hard_negatives)
                        layers = args.train_layers if args.train_layers in ("all", "projection") else int(args.train_layers)
                        head = train(pairs, kind, encoder=base, steps=steps, batch_size=args.batch_size,
                                     train_layers=layers, lr=args.lr, seed=seed, show_progress=False)
                    losses = head.losses[-10:]
                    about = {"train": name, "n": n, "seed": seed, "head": kind, "steps": steps,
                             "train_s": round(time.perf_counter() - t, 1),
                             "final_loss": sum(losses) / len(losses) if losses else None}
                    for e, scope in todo:
                        if scope == "full" and not args.full_eval:
                            continue  # N = all on the whole test sets: below, all final models together
                        write({**about, "eval": e, "scope": scope, **head.evaluate(evals[(e, scope)], ["ndcg@10"])})
                    if any(scope == "full" for _, scope in todo) and not args.full_eval:
                        finals.append((about, head))
                        if args.keep_final:
                            _save_head(head, about, Path(args.keep_final))
    if finals and not args.keep_final:
        full_eval(finals, {e: ds for (e, scope), ds in evals.items() if scope == "full"}, args.train_layers, write)


def full_eval(finals: list, evals: dict, train_layers: str, write) -> None:
    """Score the final models on the whole test sets, the shared frozen layers run once per corpus
    (:func:`lateint.train.evaluate_heads`; ``train_layers`` = how many top layers trained)."""
    from lateint.train import evaluate_heads

    if not train_layers.isdigit():
        raise SystemExit("full_eval shares frozen layers: it needs --train-layers K (a number of top layers)")
    heads = [head for _, head in finals]
    frozen = len(heads[0].encoder.model.encoder.layer) - int(train_layers)
    for e, ds in evals.items():
        t = time.perf_counter()
        for (about, _), metrics in zip(finals, evaluate_heads(heads, ds, ["ndcg@10"], frozen_layers=frozen)):
            write({**about, "eval": e, "scope": "full", **metrics})
        print(f"{e}: {len(heads)} models on the whole test set in {time.perf_counter() - t:.0f} s", flush=True)


def _save_head(head, about: dict, folder: Path) -> Path:
    """Keep a trained head for ``full-eval``: its row, settings, losses and weights (torch.save)."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{about['train']}-n{about['n']}-seed{about['seed']}-{about['head']}.pt"
    projection = [layer.linear.weight for layer in head.encoder.projection.layers]
    torch.save({"about": about, "kind": head.kind, "settings": head.settings, "losses": head.losses,
                "model": head.encoder.model.state_dict(), "projection": projection}, path)
    return path


def _load_head(path: Path, base):
    import torch

    from lateint.train import init_head

    saved = torch.load(path, weights_only=False)
    options = {k: saved["settings"][k] for k in ("dim", "markers", "query_augmentation", "skiplist")} if saved["kind"] == "late" else {}
    head = init_head(saved["kind"], encoder=base, seed=saved["settings"].get("projection_seed", 0), **options)
    with torch.no_grad():
        head.encoder.model.load_state_dict(saved["model"])
        for layer, weight in zip(head.encoder.projection.layers, saved["projection"]):
            layer.linear.weight.copy_(weight)
    head.losses, head.settings = saved["losses"], saved["settings"]
    head.refresh_fingerprint()
    return saved["about"], head


def full_eval_saved(args: argparse.Namespace) -> None:
    """``full-eval``: the heads a ``run --keep-final DIR`` saved, on the whole test sets."""
    import torch

    from lateint.data import load_beir
    from lateint.encoders import load_encoder

    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message=r".*longer than the \d+-token limit")
    out = Path(args.out)
    base = load_encoder(device="cpu")
    finals = [_load_head(p, base) for p in sorted(Path(args.models).glob("*.pt"))]
    if not finals:
        raise SystemExit(f"No saved heads (*.pt) in {args.models}: run `run --keep-final {args.models}` first.")
    full_eval(finals, {e: load_beir(e) for e in args.eval}, args.train_layers, _writer(out, args, _done(out)))


def _load(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _cell(values: list[float] | None) -> str:
    if not values:
        return "not run"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f} ({len(values)} seeds)"


def summary(rows: list[dict], scope: str = "slice", sizes: dict | None = None) -> dict:
    """{(train, eval, head, n): [nDCG@10 per seed]} over the rows of one evaluation ``scope``
    ("slice" or "full"); N = 0 rows (train '-') count for every training set; an N that is a
    training set's whole size (``sizes``: {train: queries}) is keyed "all"."""
    rows = [r for r in rows if r.get("scope", "slice") == scope]
    trains = sorted({r["train"] for r in rows if r["train"] != "-"})
    sizes = sizes or {}
    out: dict = {}
    for r in rows:
        if r["head"] == "bm25":
            continue
        for t in trains if r["train"] == "-" else [r["train"]]:
            n = "all" if sizes.get(t) == r["n"] else r["n"]
            out.setdefault((t, r["eval"], r["head"], n), []).append(r["ndcg@10"])
    return out


def train_sizes(names) -> dict[str, int]:
    """{training set: its number of judged training queries} (what N = all means for it)."""
    from lateint.data import load_beir

    return {name: len(load_beir(name, split="train").qrels) for name in names}


def full_table(rows: list[dict], retrieval_path: str | Path = HERE / "retrieval_results.jsonl") -> str:
    """The whole test sets: each curve's ends (zero-shot, N = all) beside BM25
    (:func:`lateint.lessons.grid.whole_set_rows`, as lesson 07 prints them)."""
    from lateint.lessons.grid import load_jsonl, whole_set_rows

    def f(x, fmt=".3f"):
        return "not run" if x is None else format(x, fmt)

    lines = [[f"{r['train']} → {r['eval']} ({'in domain' if r['in_domain'] else 'out of domain'})", r["head"],
              f(r["zero_shot"]), f"{r['trained']:.3f} (N = {r['n']}, {r['steps']} steps)",
              "" if r["change"] is None else f(r["change"], "+.3f"), f(r["bm25"])]
             for r in whole_set_rows(rows, load_jsonl(retrieval_path))]
    return table(["train → test", "head", "zero-shot", "trained on all", "change", "BM25"], lines)


def report(args: argparse.Namespace) -> None:
    rows = _load(args.out)
    sizes = train_sizes(sorted({r["train"] for r in rows if r["train"] != "-"}))
    cells = summary(rows, sizes=sizes)
    bm25 = {r["eval"]: r["ndcg@10"] for r in rows if r["head"] == "bm25" and r.get("scope", "slice") == "slice"}
    ns = sorted({k[3] for k in cells}, key=lambda n: (n == "all", 0 if n == "all" else n))
    lines = []
    for (t, e) in sorted({k[:2] for k in cells}):
        where = "in domain" if t == e else "out of domain"
        for head in HEADS:
            lines.append([f"{t} → {e} ({where})", head, *[_cell(cells.get((t, e, head, n))) for n in ns],
                          f"{bm25.get(e, float('nan')):.3f}"])
    print("Evaluation slices (nDCG@10):\n")
    print(table(["train → test", "head", *[f"N = {n}" for n in ns], "BM25"], lines))
    steps = sorted({(r["n"], r["steps"]) for r in rows if r["n"]})
    print(f"\nN = all: {', '.join(f'{t} {n:,} queries' for t, n in sizes.items())}. "
          f"Steps per N: {', '.join(f'N = {n:,}: {s}' for n, s in steps)}")
    print("\nWhole test sets (nDCG@10; zero-shot and BM25 from retrieval_results.jsonl):\n")
    print(full_table(rows))
    last = rows[-1]
    print(f"\nSetup: {json.dumps({k: last.get(k) for k in ('batch_size', 'train_layers', 'lr', 'hard_negatives', 'machine', 'command')})}")
    _plot(summary(rows), bm25, args.plot)  # numeric N on the x axis (N = all at its size)
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
    r.add_argument("--heads", nargs="+", choices=HEADS, default=list(HEADS),
                   help="which heads to train (two runs on one results file can split the work)")
    r.add_argument("--steps", type=int, default=30, help="optimiser steps for every N (at least; see --min-epochs)")
    r.add_argument("--min-epochs", type=int, default=1,
                   help="passes over the N training queries at least: N above steps x batch size trains longer")
    r.add_argument("--batch-size", type=int, default=16)
    r.add_argument("--train-layers", default="2", help="'projection', 'all' or a number of top layers")
    r.add_argument("--lr", type=float, default=1e-4)
    r.add_argument("--hard-negatives", type=int, default=0)
    r.add_argument("--eval-slices", default="scifact=30+90,nfcorpus=15+40",
                   help="test slices: name=queries+distractors,... (default: lesson 04's slices)")
    r.add_argument("--full-eval", action="store_true", help="evaluate every model on the whole test sets, not slices")
    r.add_argument("--no-final-full-eval", dest="final_full_eval", action="store_false",
                   help="skip scoring the N = all models on the whole test sets too")
    r.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    r.add_argument("--out", default=str(OUT))
    r.add_argument("--keep-final", default=None, metavar="DIR",
                   help="save the N = all heads to DIR for `full-eval` instead of scoring them on the whole test sets here")
    fe = sub.add_parser("full-eval", help="score the heads saved by `run --keep-final DIR` on the whole test sets")
    fe.add_argument("models", help="the folder given to --keep-final")
    fe.add_argument("--eval", nargs="+", default=["scifact", "nfcorpus"])
    fe.add_argument("--batch-size", type=int, default=16, help="as the run that trained them (recorded only)")
    fe.add_argument("--train-layers", default="2", help="top layers the heads trained (the rest are shared)")
    fe.add_argument("--lr", type=float, default=1e-4, help="as the run that trained them (recorded only)")
    fe.add_argument("--hard-negatives", type=int, default=0, help="as the run that trained them (recorded only)")
    fe.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    fe.add_argument("--out", default=str(OUT))
    rep = sub.add_parser("report", help="markdown table and plot from the results")
    rep.add_argument("--out", default=str(OUT))
    rep.add_argument("--plot", default=str(PLOT))
    args = p.parse_args(argv)
    {"run": run, "full-eval": full_eval_saved, "report": report}[args.cmd](args)


if __name__ == "__main__":
    main()
