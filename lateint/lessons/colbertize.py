"""Dress a plain encoder in ColBERT's clothes: the checkpoint format without the training.

A trained ColBERT checkpoint (``answerdotai/answerai-colbert-small-v1``,
``colbert-ir/colbertv2.0``) is a BERT-family encoder plus five conventions, all read
by :func:`lateint.load_encoder`:

1. marker tokens: ``[unused0]`` ("[Q]") after [CLS] in queries, ``[unused1]`` ("[D]") in documents;
2. query augmentation: queries padded to ``query_maxlen`` with [MASK], whose output
   vectors are kept and take part in MaxSim;
3. a small linear projection of every token vector, e.g. 384 -> 96 or 128 numbers;
4. a punctuation skiplist: document tokens such as "," and "." are dropped;
5. L2 normalisation of every token vector.

:func:`colbertize` writes a Stanford-ColBERT checkpoint folder around a plain BERT
encoder (default: the embedded all-MiniLM-L6-v2) with a *random* projection. It has
all five mechanics but none of the training that makes them useful: the markers and
[MASK] were never taught their jobs and the projection is a random map. Lesson 03
uses it to show the mechanics offline and to measure what they do on their own.

A random Gaussian projection roughly keeps dot products (the Johnson-Lindenstrauss
lemma), so :func:`project` on ready token vectors measures how many numbers per
token MaxSim needs before it loses quality: the storage side of item 3.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..encoders import model_folder
from ..metrics import evaluate_scores
from ..index import MaxSimIndex
from ..projection import project, random_projection

__all__ = ["random_projection", "project", "colbertize", "projection_sweep", "plot_projection_sweep"]

_TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def colbertize(
    path: str | os.PathLike,
    base: str | os.PathLike | None = None,
    dim: int = 128,
    query_length: int = 32,
    doc_length: int = 256,
    seed: int = 0,
) -> Path:
    """Write a Stanford-ColBERT checkpoint folder at ``path`` around a plain BERT encoder.

    Args:
        path: the folder to write (created; its checkpoint files are overwritten).
        base: a local folder with a plain BERT checkpoint (config.json, model.safetensors,
            vocab.txt...); default: the embedded all-MiniLM-L6-v2.
        dim: output size of the random projection (ColBERT uses 128, answerai-colbert-small 96).
        query_length: ``query_maxlen``: every query is padded with [MASK] up to this many tokens.
        doc_length: ``doc_maxlen``: documents are cut after this many tokens.
        seed: seed of the projection matrix.

    Returns:
        ``path``, ready for ``load_encoder(path)``. Files: config.json (``HF_ColBERT``),
        model.safetensors (``bert.*`` weights + ``linear.weight`` of shape ``(dim, hidden)``),
        the tokenizer files and artifact.metadata (the ColBERT settings).
    """


    src = model_folder(base)
    config_file, weights_file = src / "config.json", src / "model.safetensors"
    if not config_file.exists() or not weights_file.exists():
        raise FileNotFoundError(f"{src} needs config.json and model.safetensors to be colbertized")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if config.get("model_type") != "bert":
        raise ValueError(
            f"colbertize needs a BERT-family checkpoint (model_type 'bert'), {src} has {config.get('model_type')!r}"
        )
    missing = [f for f in ("vocab.txt",) if not (src / f).exists()]
    if missing:
        raise FileNotFoundError(f"{src} lacks the tokenizer file(s) {missing}")
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)

    weights = {}
    for key, value in load_file(str(weights_file)).items():
        if key.endswith("position_ids"):  # a buffer, not a weight
            continue
        weights[key if key.startswith("bert.") else f"bert.{key}"] = value
    weights["linear.weight"] = random_projection(config["hidden_size"], dim, seed)
    save_file({k: v.contiguous() for k, v in weights.items()}, str(out / "model.safetensors"), metadata={"format": "pt"})

    (out / "config.json").write_text(json.dumps({**config, "architectures": ["HF_ColBERT"]}, indent=2), encoding="utf-8")
    for name in _TOKENIZER_FILES:
        if (src / name).exists():
            shutil.copyfile(src / name, out / name)
    metadata = {
        "query_token_id": "[unused0]",
        "doc_token_id": "[unused1]",
        "query_maxlen": query_length,
        "doc_maxlen": doc_length,
        "dim": dim,
        "attend_to_mask_tokens": False,
        "mask_punctuation": True,
        "similarity": "cosine",
        "checkpoint": config.get("_name_or_path", str(src)),
        "meta": {"note": f"lateint.lessons.colbertize: untrained random projection (seed {seed})"},
    }
    (out / "artifact.metadata").write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    return out


def projection_sweep(
    ds,
    doc_vectors: Sequence[torch.Tensor],
    query_vectors: Sequence[torch.Tensor],
    dims: Sequence[int],
    metrics: Sequence[str] = ("ndcg@10",),
    seed: int = 0,
) -> dict[int, dict[str, float]]:
    """MaxSim quality on ``ds`` after a random projection of every token vector to each of ``dims``.

    Args:
        ds: a :class:`~lateint.data.BeirDataset`; ``doc_vectors`` / ``query_vectors`` align
            with ``ds.doc_ids`` / ``ds.query_ids`` (e.g. from :func:`lateint.comparison.encode_corpus`).
        dims: projection sizes; a size equal to the vectors' own leaves them unprojected.

    Returns:
        ``{dim: {metric: value, "bytes_per_doc": mean float16 storage of one document, in bytes (int)}}``.
    """

    if len(doc_vectors) != len(ds.doc_ids) or len(query_vectors) != len(ds.query_ids):
        raise ValueError(
            f"{len(doc_vectors)} document and {len(query_vectors)} query matrices for a dataset of "
            f"{len(ds.doc_ids)} docs and {len(ds.query_ids)} queries; encode ds.doc_texts and ds.query_texts"
        )
    dim_in = doc_vectors[0].shape[1]
    mean_tokens = sum(v.shape[0] for v in doc_vectors) / len(doc_vectors)
    table: dict[int, dict[str, float]] = {}
    for dim in dims:
        if dim == dim_in:
            docs, queries = list(doc_vectors), list(query_vectors)
        else:
            m = random_projection(dim_in, dim, seed)
            docs, queries = project(doc_vectors, m), project(query_vectors, m)
        scores = MaxSimIndex(ds.doc_ids, docs).scores(queries)
        table[dim] = {**evaluate_scores(scores, ds, metrics), "bytes_per_doc": round(mean_tokens * dim * 2)}
    return table


def plot_projection_sweep(table: dict[int, dict[str, float]], metric: str = "ndcg@10", ax=None):
    """Quality (left axis) and float16 storage per document (right axis, in KiB = 1,024 bytes)
    against numbers per token.

    Args:
        table: the output of :func:`projection_sweep` (``bytes_per_doc`` in bytes).

    Returns the matplotlib Axes of the quality curve.
    """
    import matplotlib.pyplot as plt

    from ..display.plots import metric_label

    if not table or any(metric not in row for row in table.values()):
        raise ValueError(f"table must be projection_sweep's output with {metric!r} in every row")
    dims = sorted(table)
    name = metric_label(metric)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(dims, [table[d][metric] for d in dims], marker="o", lw=2, color="tab:blue", label=name)
    ax.set_xscale("log", base=2)
    ax.set_xticks(dims, [str(d) for d in dims])
    ax.set_xlabel(f"numbers per token vector (log scale; {dims[-1]} = not projected)")
    ax.set_ylabel(name, color="tab:blue")
    right = ax.twinx()
    right.bar(dims, [table[d]["bytes_per_doc"] / 1024 for d in dims], width=[d * 0.3 for d in dims], alpha=0.25,
              color="tab:orange", label="storage")
    right.set_ylabel("KiB per document (float16)", color="tab:orange")
    ax.set_zorder(right.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_title(f"MaxSim {name} and storage per document\nagainst numbers per token")
    return ax
