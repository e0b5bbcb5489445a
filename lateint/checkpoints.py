"""Read a checkpoint folder: which of three layouts it holds, and what each layout stores.

:func:`lateint.encoders.load_encoder` calls these readers; a learner rarely needs them directly.

(a) **plain Hugging Face** (``all-MiniLM-L6-v2``, ``BAAI/bge-small-en-v1.5``): ``config.json`` and
    weights; sentence-transformers' ``sentence_bert_config.json`` and ``1_Pooling/config.json``
    when present.
(b) **Stanford ColBERT** (``colbert-ir/colbertv2.0``, ``answerdotai/answerai-colbert-small-v1``):
    a BERT whose weights file also holds the projection ``linear.weight``, settings in
    ``artifact.metadata`` (colbert-ai's ``ColBERTConfig`` dumped as JSON).
(c) **PyLate** (``lightonai/GTE-ModernColBERT-v1``): ``modules.json`` listing a Transformer and
    Dense projection folders, settings in ``config_sentence_transformers.json``.

Defaults for settings a checkpoint leaves out are the original libraries' own (colbert-ai's
``ColBERTConfig``, colbert/infra/config/settings.py; PyLate's ``ColBERT``, pylate/models/colbert.py):

==================  ===========================  ===============================  =====================================
setting             plain Hugging Face           Stanford (artifact.metadata)     PyLate (config_sentence_transformers)
==================  ===========================  ===============================  =====================================
query length        max_seq_length, else the     query_maxlen = 32                query_length = 32
                    tokenizer's limit (<= 512)
document length     the same                     doc_maxlen = **220**             document_length = 180
markers             none                         query_token_id = [unused0],      query_prefix = "[Q] ",
                                                 doc_token_id = [unused1]         document_prefix = "[D] "
query augmentation  no                           always                           do_query_expansion = true
attend to [MASK]s   -                            attend_to_mask_tokens = false    attend_to_expansion_tokens = false
skiplist            none                         mask_punctuation = true          skiplist_words = string.punctuation
pooling             1_Pooling, else mean         mean                             mean
==================  ===========================  ===============================  =====================================

Every length is in tokens, [CLS], [SEP] and the marker included, and is capped at the model's
``max_position_embeddings``. Only safetensors weights are read unless ``allow_pickle=True``;
remote code is never run.
"""

from __future__ import annotations

import hashlib
import json
import os
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

__all__ = [
    "EncoderLoadError", "EncoderFormat", "Dense", "Projection", "detect_format", "read_checkpoint", "marker_id",
    "skiplist_ids", "download", "check_weights", "load_tokenizer", "load_backbone", "fingerprint",
]

# What we fetch from a hub repository: configs, tokenizers and safetensors weights only.
HUB_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors", "artifact.metadata", "*/*.json", "*/*.safetensors"]
# colbert-ai's ColBERTConfig defaults (colbert/infra/config/settings.py), for a Stanford folder without artifact.metadata.
STANFORD_QUERY_LENGTH, STANFORD_DOC_LENGTH = 32, 220
# PyLate's ColBERT defaults (pylate/models/colbert.py).
PYLATE_QUERY_LENGTH, PYLATE_DOC_LENGTH = 32, 180
_IDENTITY = "torch.nn.modules.linear.Identity"


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


class Dense(torch.nn.Module):
    """One projection layer, ``(..., in) -> (..., out)``: ``linear(x)``, plus ``x`` itself or
    ``residual(x)`` when the layer was trained with a residual connection (PyLate's ``use_residual``).

    Attributes:
        linear: the ``(out, in)`` weight (and bias, if any).
        residual: ``None`` (no residual), ``torch.nn.Identity()`` (``in == out``: add ``x``) or a
            bias-free ``torch.nn.Linear`` (``in != out``: add a projection of ``x``).
    """

    def __init__(self, linear: torch.nn.Linear, residual: torch.nn.Module | None = None) -> None:
        super().__init__()
        self.linear = linear
        self.residual = residual

    @property
    def out_features(self) -> int:
        return self.linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear(x)
        return y if self.residual is None else y + self.residual(x)


@dataclass
class Projection:
    """A chain of :class:`Dense` layers applied to every token vector (ColBERT's small head).
    Empty for plain encoders: the token vectors are the transformer's last hidden states."""

    layers: list[Dense] = field(default_factory=list)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``(b, L, hidden) -> (b, L, dim)``."""
        for layer in self.layers:
            x = layer(x)
        return x


# --------------------------------------------------------------------- which layout


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


def read_checkpoint(folder: Path, tokenizer, allow_pickle: bool = False) -> tuple[EncoderFormat, Projection, Path]:
    """The format settings, the projection and the transformer's folder of a checkpoint.

    Lengths are the checkpoint's own (or the defaults in the module docstring), not yet capped
    at the model's positions. The transformer's folder is ``folder`` itself except for PyLate
    checkpoints that keep it in a sub-folder.
    """
    kind = detect_format(folder)
    if kind == "stanford-colbert":
        return _stanford(folder, tokenizer, allow_pickle) + (folder,)
    if kind == "pylate":
        return _pylate(folder, allow_pickle)
    return _plain(folder, tokenizer), Projection(), folder


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


def _stanford(folder: Path, tokenizer, allow_pickle: bool) -> tuple[EncoderFormat, Projection]:
    """Format (b): settings from artifact.metadata, ``linear.weight`` from the weights file."""
    meta_file = folder / "artifact.metadata"
    meta = _read_json(meta_file) if meta_file.exists() else {}
    meta = meta.get("config", meta)  # colbert-ai reads both the flat dump and {"config": {...}}
    skip: tuple[str, ...] = ()
    if meta.get("mask_punctuation", True):
        # As ColBERT builds it: the first token of each punctuation symbol.
        firsts = (tokenizer.encode(s, add_special_tokens=False) for s in string.punctuation)
        skip = tuple(tokenizer.convert_ids_to_tokens(ids[0]) for ids in firsts if ids)
    fmt = EncoderFormat(
        "stanford-colbert",
        query_length=int(meta.get("query_maxlen", STANFORD_QUERY_LENGTH)),
        doc_length=int(meta.get("doc_maxlen", STANFORD_DOC_LENGTH)),
        query_marker=meta.get("query_token_id", "[unused0]"),
        doc_marker=meta.get("doc_token_id", "[unused1]"),
        query_expansion=True,
        attend_to_expansion=bool(meta.get("attend_to_mask_tokens", False)),
        skiplist=skip,
    )
    weight = _read_tensor(folder, "linear.weight", allow_pickle)
    if weight is None:
        raise EncoderLoadError(
            f"{folder} looks like a Stanford ColBERT checkpoint but its safetensors hold no 'linear.weight' "
            "(the projection). Is the checkpoint complete?"
        )
    return fmt, Projection([Dense(_linear(weight, None))])


def _pylate(folder: Path, allow_pickle: bool) -> tuple[EncoderFormat, Projection, Path]:
    """Format (c): Dense modules from modules.json, prefixes/lengths from config_sentence_transformers.json."""
    modules = sorted(_read_json(folder / "modules.json"), key=lambda m: m.get("idx", 0))
    backbone = folder
    layers = []
    for m in modules:
        kind = m.get("type", "")
        if kind.endswith("Transformer"):
            backbone = folder / m.get("path", "")
        elif kind.endswith("Dense"):
            layers.append(_pylate_dense(folder / m.get("path", ""), allow_pickle))
    cfg_file = folder / "config_sentence_transformers.json"
    cfg = _read_json(cfg_file) if cfg_file.exists() else {}
    expand = cfg.get("do_query_expansion", True)
    fmt = EncoderFormat(
        "pylate",
        query_length=int(cfg.get("query_length") or PYLATE_QUERY_LENGTH),
        doc_length=int(cfg.get("document_length") or PYLATE_DOC_LENGTH),
        query_marker=cfg.get("query_prefix", "[Q] ") or None,
        doc_marker=cfg.get("document_prefix", "[D] ") or None,
        query_expansion=bool(expand),
        attend_to_expansion=bool(expand and cfg.get("attend_to_expansion_tokens", False)),
        skiplist=tuple(cfg.get("skiplist_words", list(string.punctuation))),
    )
    return fmt, Projection(layers), backbone


def _pylate_dense(sub: Path, allow_pickle: bool) -> Dense:
    """One ``pylate.models.Dense`` folder: ``linear(x)``, plus ``x`` or ``residual(x)`` if ``use_residual``
    (as ``Dense.forward`` in pylate/models/Dense.py computes it)."""
    cfg = _read_json(sub / "config.json")
    act = cfg.get("activation_function", _IDENTITY)
    if act != _IDENTITY:
        raise EncoderLoadError(f"Dense module {sub} uses activation {act}; only Identity is supported.")
    weight = _read_tensor(sub, "linear.weight", allow_pickle)
    if weight is None:
        raise EncoderLoadError(f"Dense module {sub} has no linear.weight in model.safetensors.")
    bias = _read_tensor(sub, "linear.bias", allow_pickle) if cfg.get("bias", True) else None
    if cfg.get("bias", True) and bias is None:
        raise EncoderLoadError(f"Dense module {sub} says bias: true but its weights hold no linear.bias.")
    residual = None
    if cfg.get("use_residual", False):
        out_dim, in_dim = weight.shape
        if in_dim == out_dim:
            residual = torch.nn.Identity()
        else:
            r = _read_tensor(sub, "residual.weight", allow_pickle)
            if r is None or tuple(r.shape) != (out_dim, in_dim):
                raise EncoderLoadError(
                    f"Dense module {sub} sets use_residual with {in_dim} -> {out_dim} features, so it needs a "
                    f"residual.weight of shape ({out_dim}, {in_dim}); its weights hold "
                    f"{'none' if r is None else tuple(r.shape)}. Is the checkpoint complete?"
                )
            residual = _linear(r, None)
    return Dense(_linear(weight, bias), residual)


# --------------------------------------------------------------------- vocabulary


def marker_id(tokenizer, marker: str | None) -> int | None:
    """The vocabulary id of a format's marker token (``None`` for no marker); raises ``EncoderLoadError``
    when the tokenizer does not know it."""
    if marker is None:
        return None
    idx = _vocab_id(tokenizer, marker)
    if idx is None:
        raise EncoderLoadError(
            f"The marker token {marker!r} is not in this checkpoint's vocabulary; its tokenizer files do not "
            "match its ColBERT config."
        )
    return idx


def skiplist_ids(tokenizer, tokens: Sequence[str]) -> set[int]:
    """Vocabulary ids of a skiplist's ``tokens``, leaving out those missing from the vocabulary (their [UNK] id would
    drop every unknown word of a document)."""
    return {i for i in (_vocab_id(tokenizer, t) for t in tokens) if i is not None}


def _vocab_id(tokenizer, token: str) -> int | None:
    """The id of ``token``, or ``None`` when it is not in the vocabulary (the tokenizer says [UNK] or None)."""
    i = tokenizer.convert_tokens_to_ids(token)
    if i is None or (i == tokenizer.unk_token_id and token != tokenizer.unk_token):
        return None
    return int(i)


# --------------------------------------------------------------------- files


def download(repo_id: str) -> Path:
    """The local folder of a Hugging Face hub repository: downloaded (configs, tokenizer and safetensors
    weights only) or taken from the hub cache. Raises ``EncoderLoadError`` saying what to do offline."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=repo_id, allow_patterns=HUB_PATTERNS))
    except Exception as e:  # offline, unknown repo, gated repo...
        raise EncoderLoadError(
            f"Could not fetch {repo_id!r} from the Hugging Face hub ({type(e).__name__}: {e}). "
            "Offline? Use the embedded default with load_encoder() (no argument, no network needed), "
            "or download the checkpoint elsewhere and pass its local folder: load_encoder('/path/to/folder')."
        ) from e


def check_weights(folder: Path, allow_pickle: bool) -> None:
    """Raise ``EncoderLoadError`` unless ``folder`` holds safetensors weights (or, with
    ``allow_pickle``, ``*.bin`` / ``*.pt`` files)."""
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


def load_tokenizer(folder: Path):
    """The checkpoint's Hugging Face tokenizer (never remote code)."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
    except Exception as e:
        raise EncoderLoadError(f"Could not read a tokenizer in {folder}: {e}") from e


def load_backbone(folder: Path, allow_pickle: bool = False) -> torch.nn.Module:
    """The transformer (``AutoModel``, no head); raises ``EncoderLoadError`` if a weight it needs is missing."""
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


def fingerprint(folder: Path, fmt: EncoderFormat, normalize: bool) -> str:
    """16 hex digits that identify the weights and settings, for the embedding cache."""
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
