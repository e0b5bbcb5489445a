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

Each row is the best of ``--repeats`` runs of ``--steps`` steps after one warm-up step (the machine
is shared; the minimum is the least disturbed run).
"""

from __future__ import annotations

import argparse
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
    rows = []
    runs = [
        ("sentence-transformers MNRL, all layers", lambda: st_mnrl(pairs, args.steps, args.batch_size)),
        ("lateint pooled, all layers", lambda: lateint_run(pairs, args.steps, args.batch_size, "pooled", "all")),
        ("lateint pooled, top 2 layers (cache included)", lambda: lateint_run(pairs, args.steps, args.batch_size, "pooled", 2)),
        ("lateint late, top 2 layers (cache included)", lambda: lateint_run(pairs, args.steps, args.batch_size, "late", 2)),
    ]
    for name, fn in runs:
        best = min(fn() for _ in range(args.repeats))
        rows.append([name, round(args.steps * args.batch_size / best, 2)])
        print(rows[-1], flush=True)
    reference = rows[0][1]
    print(table(["trainer", "pairs/s", "vs sentence-transformers"], [[n, v, f"{v / reference:.2f}x"] for n, v in rows]))
    print(f"\nmachine: {machine()}\ncommand: {command()}")


if __name__ == "__main__":
    main()
