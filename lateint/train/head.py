"""The two heads on one backbone: a pooled vector (cosine) or token vectors (MaxSim), and how each starts."""

from __future__ import annotations

import copy
import hashlib
import os
import string
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import torch

from ..checkpoints import Dense, Projection
from ..comparison import retrieve_all
from ..files import write_folder_atomically
from ..encoders import DEFAULT_MODEL, Encoder, load_encoder, model_folder
from ..metrics import evaluate, run_depth
from ..index import maxsim_scores
from ..projection import random_projection



HEADS = ("pooled", "late")
# Default temperatures: sentence-transformers' MultipleNegativesRankingLoss scale 20 (= 1/0.05) on
# cosines in [-1, 1]; PyLate's Contrastive loss temperature 1 on MaxSim sums (up to one per query token).
TEMPERATURE = {"pooled": 0.05, "late": 1.0}
# ColBERT's marker tokens, as Stanford ColBERT spells them in a BERT vocabulary (no new embeddings).
QUERY_MARKER, DOC_MARKER = "[unused0]", "[unused1]"
COLBERT_QUERY_LENGTH = 32



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
        from .export import write_folder  # export refers to Head: imported when saving

        path = Path(path).expanduser()
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it, or choose a new folder.")
        return write_folder_atomically(path, lambda tmp: write_folder(self, tmp))


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
