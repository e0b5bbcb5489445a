"""The training loop: contrastive loss over in-batch (and hard) negatives, the frozen layers run once and cached."""

from __future__ import annotations

import math
import random
from typing import Sequence

import torch
from tqdm.auto import tqdm

from ..similarity import maxsim_batch
from ..pooling import mean_pool
from .head import TEMPERATURE, Head, init_head
from .pairs import Pair



def train(
    pairs: Sequence[Pair],
    head: str | Head = "late",
    *,
    steps: int | None = None,
    epochs: int | None = None,
    batch_size: int = 16,
    grad_accum: int = 1,
    lr: float = 5e-5,
    projection_lr: float = 1e-3,
    temperature: float | None = None,
    train_layers: str | int = 2,
    warmup: float = 0.1,
    seed: int = 0,
    show_progress: bool = True,
    **init: object,
) -> Head:
    """Train a head contrastively on ``pairs``; return it (``head.losses``: the loss of every step).

    Args:
        pairs: :class:`Pair` s, e.g. from :func:`training_pairs`.
        head: ``"pooled"`` or ``"late"`` (a fresh :func:`init_head`, with ``init`` passed to it:
            ``encoder``, ``dim``, ``markers``, ``query_augmentation``, ``skiplist``), or a
            :class:`Head` to keep training (in place).
        steps: optimiser steps (at least 1); or ``epochs``: passes over the pairs. Give one of them.
        batch_size: pairs per forward pass; each query's negatives are the other ``batch_size - 1``
            positives plus every hard negative of the batch. Capped at ``len(pairs)``.
        grad_accum: forward passes whose gradients add up before one optimiser step (the step
            then sees ``batch_size * grad_accum`` pairs; negatives still come from each pass).
        lr: AdamW learning rate of the transformer layers that train (sentence-transformers' default).
        projection_lr: learning rate of the projection (a fresh layer learns faster).
        temperature: divides the scores before the softmax (default: :data:`TEMPERATURE` of the head).
        train_layers: ``"projection"``, the top ``k`` transformer layers (an int), or ``"all"``.
        warmup: fraction of the steps with a linearly rising learning rate, then linear decay to 0.
        seed: batches, dropout and (for a fresh head) the projection.
        show_progress: a tqdm bar with the running loss.
    """
    if isinstance(head, str):
        head = init_head(head, seed=seed, **init)  # type: ignore[arg-type]
    elif init:
        raise ValueError(f"{sorted(init)} configure a new head; they cannot change an existing Head.")
    pairs = list(pairs)
    if not pairs:
        raise ValueError("train() got no training pairs: pass at least one Pair (see training_pairs()).")
    for i, p in enumerate(pairs):
        if not isinstance(p, Pair):
            raise TypeError(f"pairs[{i}] is {type(p).__name__}; build Pair(query, positive, negatives) objects.")
    n_neg = {len(p.negatives) for p in pairs}
    if len(n_neg) > 1:
        raise ValueError(f"Every pair needs the same number of hard negatives; got counts {sorted(n_neg)}.")
    batch_size = min(positive_int(batch_size, "batch_size"), len(pairs))
    grad_accum = positive_int(grad_accum, "grad_accum")
    per_epoch = math.ceil(len(pairs) / (batch_size * grad_accum))
    if (steps is None) == (epochs is None):
        raise ValueError("Give exactly one of steps= (optimiser steps) or epochs= (passes over the pairs).")
    if steps is None:
        steps = positive_int(epochs, "epochs", "init_head() gives the untrained (zero-shot) model") * per_epoch
    steps = positive_int(steps, "steps", "init_head() gives the untrained (zero-shot) model")
    temperature = TEMPERATURE[head.kind] if temperature is None else temperature
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}.")

    torch.manual_seed(seed)
    model = TrainableHead(head, train_layers)
    params = [{"params": model.layer_params(), "lr": lr}, {"params": model.projection_params(), "lr": projection_lr}]
    params = [g for g in params if g["params"]]
    optimizer = torch.optim.AdamW(params)
    n_warm = int(warmup * steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / (n_warm + 1) if s < n_warm else max(0.0, (steps - s) / max(1, steps - n_warm))
    )
    batches = _batches(len(pairs), batch_size, random.Random(seed))
    bar = None
    if show_progress:
        bar = tqdm(total=steps, desc=f"training the {head.kind} head", unit="step")
    running = None
    try:
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            total = 0.0
            for _ in range(grad_accum):
                loss = model.loss([pairs[i] for i in next(batches)], temperature) / grad_accum
                loss.backward()
                total += loss.item()
            optimizer.step()
            schedule.step()
            head.losses.append(total)
            running = total if running is None else 0.9 * running + 0.1 * total
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{running:.3f}")
    finally:
        if bar is not None:
            bar.close()
        model.finish()
    head.settings.update(
        steps=len(head.losses), batch_size=batch_size, grad_accum=grad_accum, lr=lr, projection_lr=projection_lr,
        temperature=temperature, train_layers=train_layers, warmup=warmup, seed=seed, pairs=len(pairs),
        hard_negatives=n_neg.pop(),
    )
    head.refresh_fingerprint()
    return head



def positive_int(value, name: str, hint: str = "") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}." + (f" {hint}." if hint else ""))
    return value


def _batches(n: int, size: int, rng: random.Random):
    """Endless batches of indices: a fresh seeded permutation per epoch, consecutive slices of it."""
    while True:
        order = rng.sample(range(n), n)
        for start in range(0, n - size + 1, size):  # a short last batch would have fewer negatives: skipped
            yield order[start : start + size]


class TrainableHead:
    """The head's weights in training mode, and the forward pass the loss needs.

    With ``train_layers`` below "all", the input to the first trained layer is computed once per
    text (frozen layers, no grad) and kept in ``_cache``; each step runs only the trained layers.
    """

    def __init__(self, head: Head, train_layers: str | int) -> None:
        self.head, self.enc = head, head.encoder
        layers = self.enc.model.encoder.layer
        n = len(layers)
        if train_layers == "all":
            self.start = 0
        elif train_layers == "projection":
            if not self.enc.projection.layers:
                raise ValueError(
                    f"train_layers='projection' but this {head.kind} head has no projection: give the late head "
                    "a dim= (e.g. 128), or train the top layers (train_layers=2)."
                )
            self.start = n
        elif isinstance(train_layers, int) and not isinstance(train_layers, bool) and 1 <= train_layers <= n:
            self.start = n - train_layers
        else:
            raise ValueError(f"train_layers must be 'projection', 'all' or a number of top layers 1..{n}, got {train_layers!r}.")
        self.cached = train_layers != "all"
        self._cache: dict[tuple[bool, str], tuple[torch.Tensor, ...]] = {}
        model = self.enc.model
        for p in model.parameters():
            p.requires_grad_(False)
        self.trained_layers = [] if not self.cached else list(layers[self.start :])
        for p in self.layer_params():
            p.requires_grad_(True)
        for layer in self.enc.projection.layers:
            layer.linear.weight.requires_grad_(True)
        model.train()  # dropout on in the trained layers, as sentence-transformers trains

    def layer_params(self) -> list[torch.nn.Parameter]:
        if not self.cached:
            return list(self.enc.model.parameters())
        return [p for layer in self.trained_layers for p in layer.parameters()]

    def projection_params(self) -> list[torch.nn.Parameter]:
        return [layer.linear.weight for layer in self.enc.projection.layers]

    def finish(self) -> None:
        self.enc.model.eval()
        for p in self.enc.model.parameters():
            p.requires_grad_(False)
        for layer in self.enc.projection.layers:
            layer.linear.weight.requires_grad_(False)
        self._cache.clear()

    # -- forward

    def _frozen(self, texts: list[str], is_query: bool) -> None:
        """Fill the cache for texts not in it: ids, attention mask, kept positions, input of layer ``start``."""
        todo = sorted({t for t in texts if (is_query, t) not in self._cache})
        model = self.enc.model
        for s in range(0, len(todo), 32):
            chunk = todo[s : s + 32]
            enc = self.enc.tokenize(chunk, is_query)
            training = model.training
            model.eval()  # frozen layers: no dropout, so a text's cached input is the same at every step
            with torch.no_grad():
                hidden = self.enc.hidden_at(enc["input_ids"], enc["attention_mask"], self.start)  # (b, L, hidden)
            model.train(training)
            for i, t in enumerate(chunk):
                real = enc["attention_mask"][i].bool() | enc["keep"][i]  # [MASK]-expanded queries keep unattended rows
                length = int(real.nonzero().max()) + 1
                self._cache[(is_query, t)] = (
                    enc["input_ids"][i, :length], enc["attention_mask"][i, :length], enc["keep"][i, :length],
                    hidden[i, :length].clone(),
                )

    def token_vectors(self, texts: list[str], is_query: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(vectors (b, L, dim), attention (b, L), keep (b, L))``: projected, not yet normalised."""
        if not self.cached:
            enc = self.enc.tokenize(texts, is_query)
            return self.enc.token_states(enc["input_ids"], enc["attention_mask"]), enc["attention_mask"], enc["keep"]
        self._frozen(texts, is_query)
        rows = [self._cache[(is_query, t)] for t in texts]
        length = max(r[0].shape[0] for r in rows)
        att = torch.zeros(len(rows), length, dtype=torch.long)
        keep = torch.zeros(len(rows), length, dtype=torch.bool)
        hidden = torch.zeros(len(rows), length, rows[0][3].shape[-1])
        for i, (_, a, k, h) in enumerate(rows):
            att[i, : a.shape[0]], keep[i, : k.shape[0]], hidden[i, : h.shape[0]] = a, k, h
        return self.enc.run_from(hidden, att, self.start), att, keep

    def encode(self, texts: list[str], is_query: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """What the head scores with: pooled ``(b, dim)`` and an all-True mask, or tokens ``(b, L, dim)`` and their mask."""
        vecs, att, keep = self.token_vectors(texts, is_query)
        if self.head.kind == "pooled":
            return torch.nn.functional.normalize(mean_pool(vecs, att.bool()), dim=-1), torch.ones(len(texts), dtype=torch.bool)
        return torch.nn.functional.normalize(vecs, dim=-1), keep

    def loss(self, batch: list[Pair], temperature: float) -> torch.Tensor:
        """Cross-entropy of each query picking its own positive among the batch's documents."""
        queries = [p.query for p in batch]
        docs = [p.positive for p in batch] + [n for p in batch for n in p.negatives]
        Q, q_keep = self.encode(queries, is_query=True)
        D, d_keep = self.encode(docs, is_query=False)
        scores = Q @ D.T if self.head.kind == "pooled" else maxsim_batch(Q, D, q_keep, d_keep)  # (b, n_docs)
        # Another pair's positive that is (also) relevant to my query is not a negative for me.
        same = torch.tensor([[d == p.positive or d in p.also_relevant for d in docs] for p in batch])
        same[range(len(batch)), range(len(batch))] = False
        return contrastive_loss(scores.masked_fill(same, float("-inf")), temperature)


def contrastive_loss(scores: torch.Tensor, temperature: float) -> torch.Tensor:
    """The in-batch contrastive loss: ``scores`` ``(B, n_docs)`` where document ``i`` is query ``i``'s positive.

    Every other column is a negative. Returns the mean over queries of the cross-entropy of picking
    column ``i`` in row ``i`` after dividing the scores by ``temperature`` (a scalar tensor).
    """
    if scores.dim() != 2 or scores.shape[1] < scores.shape[0]:
        raise ValueError(f"scores must be (B, n_docs) with n_docs >= B (the B positives first), got {tuple(scores.shape)}.")
    return torch.nn.functional.cross_entropy(scores / temperature, torch.arange(scores.shape[0]))
