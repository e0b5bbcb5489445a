"""Training throughput (pairs per second): lateint.train against sentence-transformers' MNRL.

    python benchmarks/train_speed.py --steps 5 --batch-size 16

Same model (the embedded all-MiniLM-L6-v2), same SciFact training pairs, same batch size and
maximum length (256 tokens, the model's), same optimiser (AdamW, lr 5e-5), in-batch negatives only.
The reference is sentence-transformers' own ``SentenceTransformer`` with its
``MultipleNegativesRankingLoss``, stepped by a plain PyTorch loop: that is the forward, loss and
backward its ``SentenceTransformerTrainer`` runs (the Trainer itself needs the ``datasets`` and
``accelerate`` packages, which lateint does not install). Rows:

- ``sentence-transformers MNRL, all layers``: the reference;
- ``lateint pooled, all layers``: the same computation through :func:`lateint.train.train` (goal: parity);
- ``lateint pooled / late, top 2 layers``: the frozen four layers cached once (the cache's one-off
  cost is included), what the lessons and the grid use.

The machine is shared and its load moves, so the rows are interleaved: each of ``--repeats`` rounds
times every row once (``--steps`` steps after one warm-up step), in reverse order every other round,
and prints the load average beside it. A row's pairs/s is its best round (the least disturbed run);
its ratio to sentence-transformers is the median over rounds of the ratio within the round (two
timings a few minutes apart, under about the same load), which a load change between rows moves less.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import command, machine, table  # noqa: E402


def st_mnrl(pairs, steps: int, batch_size: int) -> float:
    """Seconds for ``steps`` steps of sentence-transformers' MNRL on ``pairs`` (one warm-up step first)."""
    import torch
    from sentence_transformers import SentenceTransformer
    try:
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.losses import MultipleNegativesRankingLoss

    from lateint.encoders import model_folder

    torch.manual_seed(0)
    model = SentenceTransformer(str(model_folder(None)), device="cpu")
    loss_fn = MultipleNegativesRankingLoss(model)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5)
    model.train()

    def step(i: int) -> None:
        batch = pairs[(i * batch_size) % len(pairs):][:batch_size]
        features = [model.tokenize([p.query for p in batch]), model.tokenize([p.positive for p in batch])]
        loss = loss_fn(features, None)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(0)
    start = time.perf_counter()
    for i in range(1, steps + 1):
        step(i)
    return time.perf_counter() - start


def lateint_run(pairs, steps: int, batch_size: int, kind: str, layers) -> float:
    """Seconds for ``steps`` steps of :func:`lateint.train.train` (the warm-up step timed apart and left out,
    except the frozen-layer cache, which is filled during the timed steps)."""
    from lateint.encoders import load_encoder
    from lateint.train import train

    enc = load_encoder(device="cpu")
    sub = pairs[: batch_size * (steps + 1)]
    t0 = time.perf_counter()
    train(sub[:batch_size], kind, encoder=enc, steps=1, batch_size=batch_size, lr=5e-5, train_layers=layers,
          show_progress=False)  # warm-up: the same first call costs (copy of the model, first kernels)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    train(sub, kind, encoder=enc, steps=steps + 1, batch_size=batch_size, lr=5e-5, train_layers=layers,
          show_progress=False)
    return time.perf_counter() - t0 - warm


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args(argv)

    from lateint.data import load_beir
    from lateint.train import training_pairs

    pairs = training_pairs(load_beir("scifact", split="train"), seed=0)
    runs = [
        ("sentence-transformers MNRL, all layers", lambda: st_mnrl(pairs, args.steps, args.batch_size)),
        ("lateint pooled, all layers", lambda: lateint_run(pairs, args.steps, args.batch_size, "pooled", "all")),
        ("lateint pooled, top 2 layers (cache included)", lambda: lateint_run(pairs, args.steps, args.batch_size, "pooled", 2)),
        ("lateint late, top 2 layers (cache included)", lambda: lateint_run(pairs, args.steps, args.batch_size, "late", 2)),
    ]
    speeds: list[list[float]] = [[] for _ in runs]  # pairs/s of each row, one per round
    for r in range(args.repeats):
        order = range(len(runs)) if r % 2 == 0 else reversed(range(len(runs)))
        for i in order:
            speeds[i].append(args.steps * args.batch_size / runs[i][1]())
            print(f"round {r + 1}: {runs[i][0]}: {speeds[i][-1]:.2f} pairs/s (load average {os.getloadavg()[0]:.1f})",
                  flush=True)
    rows = []
    for (name, _), s in zip(runs, speeds):
        ratios = [a / b for a, b in zip(s, speeds[0])]
        rows.append([name, round(max(s), 2), " ".join(f"{v:.2f}" for v in s), f"{statistics.median(ratios):.2f}x"])
    print(table(["trainer", "pairs/s (best)", "pairs/s per round", "vs sentence-transformers (median of rounds)"], rows))
    print(f"\nmachine: {machine()}\ncommand: {command()}")


if __name__ == "__main__":
    main()
