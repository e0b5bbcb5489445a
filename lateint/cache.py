"""An on-disk cache of embeddings, so that re-running a notebook does not re-encode.

The key is a hash of the model's fingerprint (weights and format settings), what
is being encoded (queries, documents, or a pooling) and every text, in order: any
change to one of them is a different file. Files are safetensors, written to a
temporary name and then renamed, so a crash never leaves a half-written entry.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Sequence

import torch
from safetensors.torch import load_file, save_file

from .encoders import TruncationWarning
from .files import write_atomically

__all__ = ["cache_dir", "cached_encode", "encode", "encode_in_shards"]

ENCODINGS = ("queries", "documents", "pooled", "whole")


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The cache folder: ``path``, else ``$LATEINT_CACHE``, else ``~/.cache/lateint/embeddings``."""
    if path is not None:
        return Path(path)
    env = os.environ.get("LATEINT_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "lateint" / "embeddings"


# Keyword arguments that change speed, not the vectors: left out of the key.
_NEUTRAL = {"batch_size", "show_progress"}


def _key(encoder, kind: str, texts: Sequence[str], pooling: str | None, kw: dict) -> str:
    settings = sorted((k, repr(v)) for k, v in kw.items() if k not in _NEUTRAL)
    h = hashlib.sha256()
    h.update(f"{encoder.fingerprint}|{kind}|{pooling}|{settings}|{len(texts)}".encode())
    for t in texts:
        h.update(hashlib.sha256(t.encode("utf-8")).digest())
    return h.hexdigest()[:32]


def cached_encode(
    encoder,
    texts: Sequence[str],
    kind: str = "documents",
    *,
    pooling: str | None = None,
    path: str | os.PathLike | None = None,
    **kw,
) -> list[torch.Tensor] | torch.Tensor:
    """``encoder.encode_<kind>(texts)``, read from the cache when it was computed before.

    Args:
        encoder: an :class:`~lateint.encoders.Encoder`.
        texts: the texts, as for the encoder.
        kind: ``"queries"``, ``"documents"``, ``"whole"`` (:func:`lateint.windows.encode_whole`: every
            token of a long document, windows merged) -- lists of ``(L_i, dim)`` tensors -- or
            ``"pooled"`` (one ``(n, dim)`` tensor).
        pooling: for ``kind="pooled"``, the pooling name (default: the model's).
        path: cache folder (see :func:`cache_dir`).
        kw: passed on to the encoder (``batch_size``, ``show_progress``, ``normalize``, and
            ``is_query`` for ``kind="pooled"``); those that change the vectors are part of the key.
    """
    if kind not in ENCODINGS:
        raise ValueError(f"kind must be one of {ENCODINGS}, got {kind!r}.")
    if not getattr(encoder, "fingerprint", ""):
        raise ValueError("This encoder has no fingerprint, so its embeddings cannot be cached safely.")
    folder = cache_dir(path)
    file = folder / f"{_key(encoder, kind, list(texts), pooling, kw)}.safetensors"
    if file.exists():
        if hasattr(encoder, "warn_if_truncated") and kind != "whole":  # whole documents are never cut
            # the cached vectors were cut like fresh ones: say so the same way, cache or not
            encoder.warn_if_truncated(list(texts), kind == "queries" or bool(kw.get("is_query")))
        data = load_file(str(file))
        if kind == "pooled":
            return data["pooled"]
        return list(torch.split(data["flat"], data["lengths"].tolist()))
    out = _encode_fresh(encoder, texts, kind, pooling, **kw)
    if kind == "pooled":
        tensors = {"pooled": out.contiguous()}
    else:
        tensors = {"flat": torch.cat(out).contiguous(), "lengths": torch.tensor([len(v) for v in out])}
    write_atomically(file, lambda tmp: save_file(tensors, tmp))
    return out


def encode(
    encoder, texts: Sequence[str], kind: str = "documents", *, cache: bool = True, pooling: str | None = None, **kw
) -> list[torch.Tensor] | torch.Tensor:
    """``encoder.encode_<kind>(texts, **kw)``, through the on-disk cache when ``cache`` (:func:`cached_encode`).

    ``kind`` is ``"queries"`` or ``"documents"`` (a list of ``(L_i, dim)`` tensors) or ``"pooled"``
    (one ``(n, dim)`` tensor, pooled with ``pooling``, default the model's).
    """
    if cache:
        return cached_encode(encoder, texts, kind, pooling=pooling, **kw)
    if kind not in ENCODINGS:
        raise ValueError(f"kind must be one of {ENCODINGS}, got {kind!r}.")
    return _encode_fresh(encoder, texts, kind, pooling, **kw)


def encode_in_shards(
    encoder, texts: Sequence[str], kind: str = "documents", *, shard: int = 256, cache: bool = True,
    pooling: str | None = None, path: str | os.PathLike | None = None, progress: str | None = None, **kw,
) -> list[torch.Tensor] | torch.Tensor:
    """:func:`encode` of ``texts`` in shards of ``shard`` texts, each its own cache entry: what equals
    ``encode(encoder, texts, kind)`` but resumes where an interrupted run stopped (the shards already
    written are read back, the rest encoded) and shows a ``tqdm`` bar named ``progress`` over the shards.
    Texts cut by the encoder's window are warned about once, for all shards together.
    """
    if not isinstance(shard, int) or shard < 1:
        raise ValueError(f"shard must be a positive number of texts, got {shard!r}.")
    texts = list(texts)
    starts = range(0, len(texts), shard)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=progress, unit=f"x{shard}")
    if cache:
        kw["path"] = path
    with warnings.catch_warnings(record=True) as caught:  # each shard warns about its own cut texts...
        warnings.simplefilter("always")
        parts = [encode(encoder, texts[s : s + shard], kind, cache=cache, pooling=pooling, **kw) for s in starts]
    cut = [w for w in caught if issubclass(w.category, TruncationWarning)]
    for w in caught:
        if w not in cut:
            warnings.warn(w.message, w.category, stacklevel=2)
    if cut and hasattr(encoder, "warn_if_truncated"):  # ...said once, for the whole call
        encoder.warn_if_truncated(texts, kind == "queries" or bool(kw.get("is_query")))
    if kind == "pooled":
        return torch.cat(parts) if parts else torch.empty(0, encoder.dim)
    return [t for part in parts for t in part]


def _encode_fresh(encoder, texts: Sequence[str], kind: str, pooling: str | None, **kw):
    if kind == "pooled":
        return encoder.encode_pooled(texts, pooling=pooling, **kw)
    if kind == "whole":
        from .windows import encode_whole

        return encode_whole(encoder, texts, **kw)
    return getattr(encoder, f"encode_{kind}")(texts, **kw)
