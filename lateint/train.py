"""Train your own retriever on a CPU: one pooled vector or late interaction, same backbone, same pairs.

The recipe is contrastive training with in-batch negatives, as sentence-transformers trains
all-MiniLM-L6-v2 (``MultipleNegativesRankingLoss``) and as PyLate trains ColBERT models
(``Contrastive``): a batch holds ``B`` (query, relevant document) pairs, every query is scored
against every document of the batch (its own positive, the ``B - 1`` other positives and any hard
negatives), and the loss is the cross-entropy of picking its own positive::

    loss = mean over queries i of  -log softmax_j(score(q_i, d_j) / temperature)[i]

Only the score differs between the two heads:

- ``"pooled"``: mean of the token vectors, L2-normalised, cosine (temperature 0.05 = the scale
  of 20 that sentence-transformers uses);
- ``"late"``: token vectors, an optional linear projection (e.g. 384 -> 128 dims), L2-normalised,
  MaxSim (temperature 1, PyLate's default), with ColBERT's ``[Q]``/``[D]`` markers, ``[MASK]``
  query augmentation and a punctuation skiplist each optional.

Three calls::

    pairs = training_pairs(load_beir("scifact", split="train"), n=200, hard_negatives=1)
    head = train(pairs, "late", steps=100, dim=128)          # or "pooled"
    head.evaluate(load_beir("scifact"))                      # {"ndcg@10": ...}
    head.save("my-colbert")                                  # load_encoder("my-colbert") reads it back

**Zero steps is zero-shot.** :func:`init_head` gives the model before any step; :func:`train`
starts from it. For the pooled head it is all-MiniLM-L6-v2 as it ships; for the late-interaction
head without a projection (``dim=None``) it is MaxSim over the shipped model's normalised token
vectors (``lateint.load_encoder()``'s ``encode_queries``/``encode_documents``), bit for bit.
A projection to fewer dimensions than the hidden size cannot be the identity, so it starts as
the random Gaussian projection of lesson 03 (:func:`lateint.projection.random_projection`, same
seed): N = 0 for a 128-dim head is "zero-shot MiniLM seen through a random 128-dim projection",
which costs a little quality (lesson 03 measures how much). ``dim`` equal to the hidden size
starts as the identity matrix, so it starts exactly at zero-shot and can still be trained.
``steps=0`` is refused by :func:`train` (it would silently train nothing): ask :func:`init_head`.

**What trains.** ``train_layers="projection"`` (the projection only), an int ``k`` (the top ``k``
transformer layers, plus the projection) or ``"all"`` (every weight, embeddings included). When
only the top layers train, the frozen layers' outputs are computed once per text (no grad,
dropout off) and cached, so each step runs only the top layers: much faster on a CPU.

**Determinism.** For one seed on one machine a run is repeatable: batches are drawn with
``random.Random(seed)``, the projection and dropout with ``torch.manual_seed(seed)``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import random
import re
import shutil
import string
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import torch
from safetensors.torch import save_file
from tqdm.auto import tqdm

from .bm25 import BM25
from .checkpoints import Dense, Projection
from .compare import retrieve_all
from .data import doc_text
from .files import permissions_from_umask
from .encoders import DEFAULT_MODEL, Encoder, load_encoder, model_folder
from .evaluate import evaluate, run_depth, run_from_scores
from .index import maxsim_scores
from .maxsim import maxsim_batch
from .projection import random_projection
from .pooling import mean_pool

__all__ = [
    "HEADS",
    "Pair",
    "Head",
    "training_pairs",
    "init_head",
    "train",
    "evaluate_heads",
    "score_heads",
    "TEMPERATURE",
    "contrastive_loss",
]

HEADS = ("pooled", "late")
# Default temperatures: sentence-transformers' MultipleNegativesRankingLoss scale 20 (= 1/0.05) on
# cosines in [-1, 1]; PyLate's Contrastive loss temperature 1 on MaxSim sums (up to one per query token).
TEMPERATURE = {"pooled": 0.05, "late": 1.0}
# ColBERT's marker tokens, as Stanford ColBERT spells them in a BERT vocabulary (no new embeddings).
QUERY_MARKER, DOC_MARKER = "[unused0]", "[unused1]"
COLBERT_QUERY_LENGTH = 32


# --------------------------------------------------------------------------- training pairs


@dataclass(frozen=True)
class Pair:
    """One training example: a query, one relevant document and optional hard negatives (texts).

    ``also_relevant``: other documents judged relevant to the query; when one of them is another
    pair's positive in the same batch it is not counted as a negative (NFCorpus judges ~40 per query).
    """

    query: str
    positive: str
    negatives: tuple[str, ...] = ()
    also_relevant: frozenset[str] = field(default=frozenset(), compare=False)

    def __post_init__(self) -> None:
        for name, text in (("query", self.query), ("positive", self.positive), *(("negative", t) for t in self.negatives)):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"A training pair's {name} must be a non-empty string, got {text!r}.")


def training_pairs(
    ds,
    n: int | None = None,
    *,
    seed: int = 0,
    hard_negatives: int = 0,
    miner: str | Callable[[list[str]], list[list[str]]] = "bm25",
) -> list[Pair]:
    """One :class:`Pair` per query of a training split, optionally with mined hard negatives.

    Args:
        ds: a :class:`~lateint.data.BeirDataset` loaded with a training split, e.g.
            ``load_beir("scifact", split="train")``. The test split is refused: training on it
            would make every test figure meaningless.
        n: how many queries (``None``: all). The same ``(n, seed)`` always picks the same queries,
            and a larger ``n`` with the same seed keeps the smaller one's queries (nested sets, so a
            curve over N adds data rather than swapping it).
        seed: which queries, and which positive when a query has several equally relevant ones.
        hard_negatives: documents per query that look relevant but are not judged relevant.
        miner: ``"bm25"`` (the top BM25 hits over ``ds``'s corpus that no judgement of this split
            calls relevant), ``"model"`` (the same with the zero-shot pooled MiniLM), or a function
            ``query ids -> ranked doc ids`` per query.

    Returns:
        ``n`` pairs in a seeded order.
    """
    split = getattr(ds, "split", None)
    if split == "test":
        raise ValueError(
            f"{ds.name!r} was loaded with split='test': training on the test split would make the test "
            "figures meaningless. Load a training split, e.g. load_beir('scifact', split='train')."
        )
    for label, value in (("seed", seed), ("hard_negatives", hard_negatives)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{label} must be a non-negative int, got {value!r}.")
    qids = sorted(ds.qrels)
    if not qids:
        raise ValueError(f"{ds.name!r} ({split}) has no judged queries to train on.")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= len(qids)):
        raise ValueError(
            f"n must be between 1 and the {len(qids)} training queries of {ds.name!r} ({split}), got {n!r}. "
            "Pass n=None for all of them."
        )
    for qid in qids:
        if not any(g > 0 for g in ds.qrels[qid].values()):
            raise ValueError(
                f"Query {qid!r} of {ds.name!r} ({split}) has no relevant document (every judgement is 0): "
                "a contrastive pair needs one. Drop it from the qrels first."
            )
    rng = random.Random(seed)
    chosen = rng.sample(qids, len(qids))[: n or len(qids)]  # a prefix of one permutation: nested in n
    mined = _mine(ds, chosen, hard_negatives, miner) if hard_negatives else {q: [] for q in chosen}
    pairs = []
    for qid in chosen:
        judged = ds.qrels[qid]
        best = max(judged.values())
        positive = rng.choice(sorted(d for d, g in judged.items() if g == best))
        negatives = tuple(_text(ds, d) for d in mined[qid])
        others = frozenset(_text(ds, d) for d, g in judged.items() if g > 0 and d != positive)
        pairs.append(Pair(ds.queries[qid], _text(ds, positive), negatives, others))
    return pairs


def _text(ds, doc_id: str) -> str:
    return doc_text(ds.corpus[doc_id])


def _mine(ds, qids: list[str], k: int, miner) -> dict[str, list[str]]:
    """The top ``k`` documents per query that the split does not judge for it, by ``miner``'s ranking."""
    texts = [ds.queries[q] for q in qids]
    depth = k + max(len(ds.qrels[q]) for q in qids)  # room for the judged ones we skip
    if miner == "bm25":
        run = BM25(ds.doc_ids, ds.doc_texts).run(texts, qids, k=depth)
        ranked = [list(run[q]) for q in qids]
    elif miner == "model":
        enc = load_encoder(device="cpu")
        scores = enc.encode_pooled(texts) @ enc.encode_pooled(ds.doc_texts).T
        run = run_from_scores(scores, qids, ds.doc_ids, k=depth)
        ranked = [list(run[q]) for q in qids]
    elif callable(miner):
        ranked = [list(r) for r in miner(qids)]
    else:
        raise ValueError(f"Unknown miner {miner!r}: use 'bm25', 'model' or a function of the query ids.")
    return {q: [d for d in r if d not in ds.qrels[q]][:k] for q, r in zip(qids, ranked)}


# --------------------------------------------------------------------------- the two heads


@dataclass
class Head:
    """A retriever being trained: an :class:`~lateint.encoders.Encoder` plus how it scores.

    ``kind`` is ``"pooled"`` (``encoder.encode_pooled``, cosine) or ``"late"``
    (``encoder.encode_queries``/``encode_documents``, MaxSim). ``losses`` holds the loss of every
    optimiser step so far (empty before training); ``settings`` how it was made.
    """

    kind: str
    encoder: Encoder
    losses: list[float] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def refresh_fingerprint(self) -> None:
        """Fingerprint the weights themselves, so the embedding cache tells trained models apart.

        Call it after changing any weight (training and loading do).
        """
        h = hashlib.sha256(repr((self.kind, self.encoder.format)).encode())
        tensors = list(self.encoder.model.state_dict().values()) + [l.linear.weight for l in self.encoder.projection.layers]
        for t in tensors:
            h.update(t.detach().contiguous().cpu().numpy().tobytes())
        self.encoder.fingerprint = "trained-" + h.hexdigest()[:16]

    def scores(self, queries: Sequence[str], documents: Sequence[str]) -> torch.Tensor:
        """``(n_queries, n_documents)`` scores: cosines (pooled) or MaxSim sums (late)."""
        if self.kind == "pooled":
            return self.encoder.encode_pooled(queries) @ self.encoder.encode_pooled(documents).T
        return maxsim_scores(self.encoder.encode_queries(queries), self.encoder.encode_documents(documents))

    def evaluate(self, ds, metrics: Sequence[str] = ("ndcg@10",), show_progress: bool | None = None) -> dict[str, float]:
        """Mean metrics of this head on dataset ``ds`` (exhaustive scoring of its corpus, no cache)."""
        method = "pooled" if self.kind == "pooled" else "maxsim"
        run = retrieve_all(ds, self.encoder, methods=[method], k=run_depth(metrics), cache=False,
                           show_progress=show_progress)[method]
        return evaluate(run, ds.qrels, metrics)

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write a checkpoint folder that :func:`~lateint.encoders.load_encoder` reads back with identical scores.

        ``"pooled"``: a sentence-transformers folder (the base model's files, new weights).
        ``"late"``: a PyLate / sentence-transformers ColBERT folder (``modules.json`` with a
        ``pylate.models.Dense.Dense`` projection, ``config_sentence_transformers.json`` with the
        markers, lengths, query augmentation and skiplist). Without a projection an identity
        ``Dense`` is written, since that layout needs one.

        Both get a ``README.md`` model card naming the base model, its licence and how to load the
        folder (not the base model's card, which describes another model), and
        ``lateint_training.json`` with the training settings.

        The folder is written atomically: built in a temporary folder beside ``path`` and renamed
        into place, so a failure never leaves a partial checkpoint. An existing ``path`` is replaced
        only with ``overwrite=True``. Its files get the permissions the umask gives any new file
        (a temporary folder and ``safetensors`` would make them readable by their owner only).
        """
        path = Path(path).expanduser()
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it, or choose a new folder.")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            (_save_late if self.kind == "late" else _save_pooled)(self, tmp)
            settings = {k: v for k, v in self.settings.items() if k != "base_folder"}  # a path on this machine only
            _write_json(tmp / "lateint_training.json", {"head": self.kind, **settings, "steps_done": len(self.losses)})
            _write_model_card(self, tmp)
            permissions_from_umask(tmp)
            if path.exists():
                old = path.with_name(f".{path.name}.old")
                if old.exists():  # left behind by a save that crashed between the two renames below
                    shutil.rmtree(old)
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old)
            else:
                os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path


def init_head(
    kind: str = "late",
    *,
    encoder: Encoder | None = None,
    dim: int | None = None,
    markers: bool = False,
    query_augmentation: bool = False,
    skiplist: bool = False,
    seed: int = 0,
) -> Head:
    """The model before any training step (a copy: training it never changes ``encoder``).

    Args:
        kind: ``"pooled"`` or ``"late"``.
        encoder: the backbone, a plain Hugging Face / sentence-transformers encoder
            (default: the embedded all-MiniLM-L6-v2 on the CPU).
        dim: late head only: the projection's output size (``None``: no projection; the hidden
            size: identity; fewer: lesson 03's random projection, seeded by ``seed``).
        markers: late head only: ColBERT's ``[Q]``/``[D]`` marker after ``[CLS]``.
        query_augmentation: late head only: pad queries with ``[MASK]`` to 32 tokens and keep them.
        skiplist: late head only: drop punctuation tokens from documents (ColBERT's skiplist).
        seed: seeds the random projection.
    """
    if kind not in HEADS:
        raise ValueError(f"Unknown head {kind!r}: choose 'pooled' (one vector, cosine) or 'late' (MaxSim).")
    base = encoder if encoder is not None else load_encoder(device="cpu")
    if base.format.kind != "huggingface" or base.projection.layers:
        raise ValueError(
            f"Training starts from a plain encoder (one without a ColBERT head); {base.name!r} is a "
            f"{base.format.kind} checkpoint. Pass load_encoder() or another plain Hugging Face encoder."
        )
    hidden = base.model.config.hidden_size
    colbert = {"dim": dim, "markers": markers, "query_augmentation": query_augmentation, "skiplist": skiplist}
    if kind == "pooled" and any(colbert.values()):
        raise ValueError(
            f"The pooled head has one mean-pooled vector and no ColBERT options; got {colbert}. "
            "Use head='late' for a projection, markers, query augmentation or a skiplist."
        )
    if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool) or not 1 <= dim <= hidden):
        raise ValueError(
            f"dim must be between 1 and the backbone's hidden size {hidden} (or None for no projection), got {dim!r}."
        )
    fmt, layers = base.format, []
    if kind == "late":
        fmt = replace(
            fmt,
            kind="pylate" if (markers or query_augmentation or skiplist) else fmt.kind,
            query_marker=QUERY_MARKER if markers else None,
            doc_marker=DOC_MARKER if markers else None,
            query_expansion=query_augmentation,
            query_length=COLBERT_QUERY_LENGTH if query_augmentation else fmt.query_length,
            skiplist=tuple(string.punctuation) if skiplist else (),
        )
        if dim is not None:
            layers = [_initial_projection(hidden, dim, seed)]
    head = Head(
        kind,
        Encoder(copy.deepcopy(base.model), base.tokenizer, fmt, Projection([Dense(layer) for layer in layers]), name=f"{base.name} ({kind} head)",
                device="cpu", batch_size=base.batch_size, normalize=True),
        settings={"base": base.name, "dim": dim, "markers": markers, "query_augmentation": query_augmentation,
                  "skiplist": skiplist, "projection_seed": seed},
    )
    head.settings["base_folder"] = str(model_folder(None if base.name == DEFAULT_MODEL else base.name))
    head.refresh_fingerprint()
    return head


def _initial_projection(hidden: int, dim: int, seed: int) -> torch.nn.Linear:
    """Identity when ``dim == hidden`` (so zero steps is zero-shot); lesson 03's random projection otherwise."""
    layer = torch.nn.Linear(hidden, dim, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.eye(hidden) if dim == hidden else random_projection(hidden, dim, seed))
    return layer


# --------------------------------------------------------------------------- training


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
    batch_size = min(_positive_int(batch_size, "batch_size"), len(pairs))
    grad_accum = _positive_int(grad_accum, "grad_accum")
    per_epoch = math.ceil(len(pairs) / (batch_size * grad_accum))
    if (steps is None) == (epochs is None):
        raise ValueError("Give exactly one of steps= (optimiser steps) or epochs= (passes over the pairs).")
    if steps is None:
        steps = _positive_int(epochs, "epochs", "init_head() gives the untrained (zero-shot) model") * per_epoch
    steps = _positive_int(steps, "steps", "init_head() gives the untrained (zero-shot) model")
    temperature = TEMPERATURE[head.kind] if temperature is None else temperature
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}.")

    torch.manual_seed(seed)
    model = _TrainableHead(head, train_layers)
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


def evaluate_heads(
    heads: Sequence[Head],
    ds,
    metrics: Sequence[str] = ("ndcg@10",),
    *,
    frozen_layers: int,
    batch_size: int = 32,
) -> list[dict[str, float]]:
    """``[head.evaluate(ds, metrics) for head in heads]``, running the shared frozen layers over the corpus once.

    Exhaustive scoring of ``ds``'s whole corpus, as :meth:`Head.evaluate`, by :func:`score_heads`.
    """
    k = run_depth(metrics)
    return [evaluate(run_from_scores(scores, ds.query_ids, ds.doc_ids, k=k), ds.qrels, metrics)
            for scores in score_heads(heads, ds.query_texts, ds.doc_texts, frozen_layers=frozen_layers,
                                      batch_size=batch_size)]


def score_heads(
    heads: Sequence[Head],
    queries: Sequence[str],
    documents: Sequence[str],
    *,
    frozen_layers: int,
    batch_size: int = 32,
) -> list[torch.Tensor]:
    """``[head.scores(queries, documents) for head in heads]``: ``(n_queries, n_documents)`` each,
    computing the documents' pass through the shared frozen layers once.

    Heads trained from one backbone with only their top layers training (``train_layers=k``) share
    their bottom ``frozen_layers`` (= layers - k) exactly; when they also tokenize documents alike
    (every pooled head, and late heads without markers or skiplist), each document's input to the
    first trained layer is computed once and each head runs only its own top layers on it. Scoring
    thousands of 256-token abstracts with four heads that train their top 2 of 6 layers then costs
    about two full encodings instead of four. The scores equal :meth:`Head.scores` up to float
    rounding (``tests/test_train.py``). Raises ``ValueError`` when the heads' frozen weights or
    document tokenization differ.
    """
    heads = list(heads)
    if not heads:
        raise ValueError("score_heads() got no heads.")
    n_layers = len(heads[0].encoder.model.encoder.layer)
    if not isinstance(frozen_layers, int) or isinstance(frozen_layers, bool) or not 0 <= frozen_layers < n_layers:
        raise ValueError(f"frozen_layers must be 0..{n_layers - 1} (layers below the first trained one), got {frozen_layers!r}.")
    ref = heads[0].encoder
    doc_format = lambda enc: (enc.format.doc_marker, enc.format.skiplist, enc.format.doc_length)  # noqa: E731
    for h in heads[1:]:
        if doc_format(h.encoder) != doc_format(ref):
            raise ValueError("These heads tokenize documents differently (markers, skiplist or length); score them apart.")
        theirs = h.encoder.model.state_dict()
        for name, tensor in ref.model.state_dict().items():
            layer = re.match(r"encoder\.layer\.(\d+)\.", name)
            if (layer is None or int(layer.group(1)) < frozen_layers) and not torch.equal(tensor, theirs[name]):
                raise ValueError(f"The heads differ in {name}, below layer {frozen_layers}: they do not share frozen layers.")
    order = sorted(range(len(documents)), key=lambda i: len(documents[i]))  # similar lengths per batch: less padding
    shared: dict = {}  # (is_query, text) -> a document's input to layer `frozen_layers`, kept across heads
    out = []
    with torch.no_grad():
        for head in heads:
            model = _TrainableHead(head, n_layers - frozen_layers if frozen_layers else "all")
            try:
                model.enc.model.eval()
                model._cache = shared
                docs = [model.encode([documents[i] for i in order[s : s + batch_size]], is_query=False)
                        for s in range(0, len(order), batch_size)]
                qs = [model.encode(list(queries[s : s + batch_size]), is_query=True) for s in range(0, len(queries), batch_size)]
                if head.kind == "pooled":
                    scores = torch.cat([v for v, _ in qs]) @ torch.cat([v for v, _ in docs]).T
                else:
                    scores = maxsim_scores([v[i][m[i]] for v, m in qs for i in range(len(v))],
                                           [v[i][m[i]] for v, m in docs for i in range(len(v))])
            finally:
                for key in [key for key in shared if key[0]]:
                    del shared[key]  # queries are tokenized per head (a late head may mark queries only)
                model._cache = {}
                model.finish()
            unsorted = torch.empty_like(scores)
            unsorted[:, order] = scores
            out.append(unsorted)
    return out


def _positive_int(value, name: str, hint: str = "") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}." + (f" {hint}." if hint else ""))
    return value


def _batches(n: int, size: int, rng: random.Random):
    """Endless batches of indices: a fresh seeded permutation per epoch, consecutive slices of it."""
    while True:
        order = rng.sample(range(n), n)
        for start in range(0, n - size + 1, size):  # a short last batch would have fewer negatives: skipped
            yield order[start : start + size]


class _TrainableHead:
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
                out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], output_hidden_states=True)
            model.train(training)
            hidden = out.hidden_states[self.start]  # (b, L, hidden): input of the first trained layer
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
            hidden = self.enc.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            return self.enc.projection(hidden), enc["attention_mask"], enc["keep"]
        self._frozen(texts, is_query)
        rows = [self._cache[(is_query, t)] for t in texts]
        length = max(r[0].shape[0] for r in rows)
        att = torch.zeros(len(rows), length, dtype=torch.long)
        keep = torch.zeros(len(rows), length, dtype=torch.bool)
        hidden = torch.zeros(len(rows), length, rows[0][3].shape[-1])
        for i, (_, a, k, h) in enumerate(rows):
            att[i, : a.shape[0]], keep[i, : k.shape[0]], hidden[i, : h.shape[0]] = a, k, h
        if self.trained_layers:
            mask = _layer_mask(self.enc.model, att, hidden)
            for layer in self.trained_layers:
                out = layer(hidden, attention_mask=mask)
                hidden = out[0] if isinstance(out, tuple) else out
        return self.enc.projection(hidden), att, keep

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


def _layer_mask(model: torch.nn.Module, att: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """The attention mask one transformer layer takes, built as the model's own forward builds it."""
    try:
        from transformers.masking_utils import create_bidirectional_mask
    except ImportError:  # transformers < 4.56
        return model.get_extended_attention_mask(att, att.shape)
    return create_bidirectional_mask(config=model.config, inputs_embeds=hidden, attention_mask=att)


# --------------------------------------------------------------------------- saving


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def _copy_base_files(head: Head, dest: Path, skip: Callable[[Path], bool]) -> None:
    """The base checkpoint's files (tokenizer, sentence-transformers configs) except weights and ``skip``."""
    src = Path(head.settings["base_folder"])
    for f in sorted(src.rglob("*")):
        rel = f.relative_to(src)
        if f.is_dir() or f.suffix in {".safetensors", ".bin", ".pt", ".onnx", ".h5", ".msgpack", ".ot"} or skip(rel):
            continue
        if rel.parts[0] in {"onnx", "openvino", ".cache"} or rel == Path("README.md"):  # the card is written anew
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest / rel)


def _write_model_card(head: Head, dest: Path) -> None:
    """``README.md``: what this folder is, its base model and licence (from the base's card), how to load it."""
    base_card = Path(head.settings["base_folder"]) / "README.md"
    licence = re.search(r"^license:\s*(\S+)\s*$", base_card.read_text(encoding="utf-8"), re.M) if base_card.is_file() else None
    library, loader = (
        ("PyLate", "`pylate.models.ColBERT(model_name_or_path=FOLDER)` (PyLate)")
        if head.kind == "late" else
        ("sentence-transformers", "`sentence_transformers.SentenceTransformer(FOLDER)`")
    )
    what = "late-interaction (ColBERT, MaxSim)" if head.kind == "late" else "pooled (one vector, cosine)"
    front = [f"base_model: {head.settings['base']}", f"library_name: {library}"]
    front += [f"license: {licence.group(1)}"] if licence else []
    (dest / "README.md").write_text(
        "---\n" + "\n".join(front) + "\ntags:\n- lateint\n---\n\n"
        f"# {head.settings['base']}, {what} head trained with lateint\n\n"
        f"{head.settings['base']} fine-tuned for {len(head.losses)} contrastive steps by `lateint.train` "
        f"as a {what} retriever; the settings are in `lateint_training.json`.\n\n"
        f"Load it with `lateint.load_encoder(FOLDER)` or {loader}.\n",
        encoding="utf-8",
    )


def _save_backbone(head: Head, dest: Path) -> None:
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Writing model shards" bar for one small file
    try:
        head.encoder.model.save_pretrained(str(dest), safe_serialization=True)
    finally:
        if shown:
            hf_logging.enable_progress_bar()


def _save_pooled(head: Head, dest: Path) -> None:
    _copy_base_files(head, dest, skip=lambda rel: False)
    _save_backbone(head, dest)


def _save_late(head: Head, dest: Path) -> None:
    enc, fmt = head.encoder, head.encoder.format
    _copy_base_files(head, dest, skip=lambda rel: rel.parts[0].startswith(("1_", "2_", "3_")) or rel.name in {
        "modules.json", "config_sentence_transformers.json", "sentence_bert_config.json"})
    _save_backbone(head, dest)
    hidden = enc.model.config.hidden_size
    weight = enc.projection.layers[0].linear.weight if enc.projection.layers else torch.eye(hidden)
    dense = dest / "1_Dense"
    dense.mkdir()
    save_file({"linear.weight": weight.detach().contiguous()}, str(dense / "model.safetensors"), metadata={"format": "pt"})
    _write_json(dense / "config.json", {"in_features": hidden, "out_features": weight.shape[0], "bias": False,
                                        "activation_function": "torch.nn.modules.linear.Identity"})
    _write_json(dest / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Dense", "type": "pylate.models.Dense.Dense"},
    ])
    _write_json(dest / "sentence_bert_config.json", {"max_seq_length": fmt.doc_length - 1, "do_lower_case": False})
    _write_json(dest / "config_sentence_transformers.json", {
        "model_type": "ColBERT",
        "similarity_fn_name": "MaxSim",
        "query_prefix": fmt.query_marker or "",
        "document_prefix": fmt.doc_marker or "",
        "query_length": fmt.query_length,
        "document_length": fmt.doc_length,
        "do_query_expansion": fmt.query_expansion,
        "attend_to_expansion_tokens": fmt.attend_to_expansion,
        "skiplist_words": list(fmt.skiplist),
    })
