"""The course's own trained late-interaction model: a few MB shipped with the package.

No trained ColBERT checkpoint can be downloaded offline, so the course trains one itself, with
:func:`lateint.train.train`, and ships only what training changed: the top transformer layer of the
embedded all-MiniLM-L6-v2 and a 384 -> 128 projection, in float16 (about 3.6 MB). Everything else
(the five lower layers, embeddings, tokenizer) is the embedded model as it ships, so::

    enc = load_lesson_model()                 # an Encoder: ColBERT's [Q]/[D] markers, 128 dims
    head = load_lesson_head()                 # the same as a lateint.train.Head (evaluate, save, train on)
    head.save("my-colbert")                   # a PyLate folder that load_encoder (and PyLate) reads

How it was made is :data:`RECIPE`, and the file is made by one command::

    python -m lateint.trained --out lateint/artifacts/minilm-colbert-scifact.safetensors   # the shipped file

which trains on the SciFact **train** split only (never a test query), on a CPU in a few minutes.
``tests/test_trained.py`` runs that command again and checks that the rebuilt model scores a small
slice of SciFact's test split like the shipped file, within a stated tolerance (training on another
CPU moves the last bits, and float16 storage rounds the weights).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .encoders import Encoder
from .files import write_atomically
from .train import Head, init_head, train, training_pairs

__all__ = ["ARTIFACT", "RECIPE", "build", "load_lesson_head", "load_lesson_model"]

ARTIFACT = Path(__file__).resolve().parent / "artifacts" / "minilm-colbert-scifact.safetensors"

#: How the shipped model was trained: every argument of :func:`build`'s calls.
RECIPE: dict = {
    "train": "scifact",  # the training split of SciFact (809 claims), loaded with load_beir(..., split="train")
    "n": None,  # every training query
    "hard_negatives": 0,  # in-batch negatives only: each claim's negatives are the batch's other abstracts
    "head": "late",
    "dim": 128,  # the projection: 384 -> 128 numbers per token, as ColBERTv2
    "markers": True,  # [Q] / [D] after [CLS]
    "query_augmentation": False,  # no [MASK] padding: untrained [MASK]s cost much out of domain (lesson 03)
    "skiplist": True,  # punctuation dropped from documents
    "train_layers": 1,  # the top transformer layer and the projection train; the other five stay frozen
    "steps": 200,
    "batch_size": 16,
    "lr": 1e-4,
    "projection_lr": 1e-3,
    "seed": 0,
}

# Which recipe entries configure the head (init_head) and which the training run (train): one mapping,
# so build() and load_lesson_head() cannot drift apart.
_HEAD_ENTRIES = ("dim", "markers", "query_augmentation", "skiplist", "seed")
_TRAIN_ENTRIES = ("steps", "batch_size", "train_layers", "lr", "projection_lr")


def _entries(recipe: dict, names: tuple[str, ...]) -> dict:
    return {k: recipe[k] for k in names}


def build(out: str | os.PathLike, *, show_progress: bool = True, **overrides) -> Path:
    """Train the lesson model by :data:`RECIPE` (``overrides`` change entries) and write it to ``out``.

    The file holds the trained layers and the projection in float16, and the recipe as metadata.
    It is written to a temporary file beside ``out`` and renamed into place, so a failed run never
    leaves a partial file. Returns ``out``.
    """
    from .data import load_beir  # the datasets are needed only to build, not to load

    unknown = set(overrides) - set(RECIPE)
    if unknown:
        raise ValueError(f"Unknown recipe entries {sorted(unknown)}; the recipe has {sorted(RECIPE)}.")
    recipe = {**RECIPE, **overrides}
    t = time.perf_counter()
    pairs = training_pairs(load_beir(recipe["train"], split="train"), n=recipe["n"], seed=recipe["seed"],
                           hard_negatives=recipe["hard_negatives"])
    head = train(pairs, recipe["head"], **_entries(recipe, _HEAD_ENTRIES), **_entries(recipe, _TRAIN_ENTRIES),
                 show_progress=show_progress)
    tensors = _trained_tensors(head, recipe["train_layers"])
    meta = {"recipe": json.dumps(recipe), "base": head.settings["base"], "format": "lateint-trained-1",
            "train_seconds": f"{time.perf_counter() - t:.0f}", "final_loss": f"{sum(head.losses[-10:]) / 10:.4f}"}
    return write_atomically(out, lambda tmp: save_file(tensors, tmp, metadata=meta))


def _trained_tensors(head: Head, train_layers: int) -> dict[str, torch.Tensor]:
    """The top ``train_layers`` layers' weights and the projection, float16, named as in the backbone."""
    state = head.encoder.model.state_dict()
    n = len(head.encoder.model.encoder.layer)
    prefixes = tuple(f"encoder.layer.{i}." for i in range(n - train_layers, n))
    tensors = {k: v for k, v in state.items() if k.startswith(prefixes)}
    tensors["projection.weight"] = head.encoder.projection.layers[0].linear.weight
    return {k: v.detach().to(torch.float16).contiguous() for k, v in tensors.items()}


def load_lesson_head(path: str | os.PathLike = ARTIFACT, encoder: Encoder | None = None) -> Head:
    """The shipped model as a :class:`lateint.train.Head` (``kind="late"``, ``settings`` = its recipe).

    ``encoder``: the backbone to start from (default: the embedded all-MiniLM-L6-v2, on the CPU).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No trained model at {path}. Rebuild it with: python -m lateint.trained --out {path}"
        )
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("format") != "lateint-trained-1":
            raise ValueError(f"{path} is not a lateint trained-model file (metadata format {meta.get('format')!r}).")
        tensors = {k: f.get_tensor(k).float() for k in f.keys()}
    recipe = json.loads(meta["recipe"])
    head = init_head(recipe["head"], encoder=encoder, **_entries(recipe, _HEAD_ENTRIES))
    projection = tensors.pop("projection.weight")
    state = head.encoder.model.state_dict()
    missing = [k for k in tensors if k not in state or state[k].shape != tensors[k].shape]
    if missing:
        raise ValueError(f"{path} does not fit the backbone {head.encoder.name!r}: no matching weights for {missing[:3]}.")
    with torch.no_grad():
        for k, v in tensors.items():
            state[k].copy_(v)
        head.encoder.projection.layers[0].linear.weight.copy_(projection)
    head.settings.update(recipe, steps_done=recipe["steps"], artifact=path.name)
    head.encoder.name = f"lateint MiniLM-ColBERT (trained on {recipe['train']} train, {path.name})"
    head.refresh_fingerprint()
    return head


def load_lesson_model(path: str | os.PathLike = ARTIFACT) -> Encoder:
    """The shipped trained late-interaction model as an :class:`~lateint.encoders.Encoder` (128-dim token vectors)."""
    return load_lesson_head(path).encoder


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Train the course's late-interaction model by lateint.trained.RECIPE.")
    p.add_argument("--out", default=ARTIFACT.name,
                   help=f"where to write the .safetensors file (default: {ARTIFACT.name} in the current folder; "
                        f"the shipped copy is {ARTIFACT}, replaced only when you name it)")
    p.add_argument("--steps", type=int, default=None, help="override the recipe's steps")
    args = p.parse_args(argv)
    overrides = {} if args.steps is None else {"steps": args.steps}
    print(f"wrote {build(args.out, **overrides)}")


if __name__ == "__main__":
    main()
