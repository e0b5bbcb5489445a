"""Saving a head as a sentence-transformers folder (pooled) or a PyLate ColBERT folder (late)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import torch
from safetensors.torch import save_file

if TYPE_CHECKING:  # annotations only: head.py imports this module when it saves
    from .head import Head


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


def write_folder(head: Head, dest: Path) -> None:
    """Fill the empty folder ``dest`` with ``head``'s checkpoint, its training settings and its model card."""
    (_save_late if head.kind == "late" else _save_pooled)(head, dest)
    settings = {k: v for k, v in head.settings.items() if k != "base_folder"}  # a path on this machine only
    _write_json(dest / "lateint_training.json", {"head": head.kind, **settings, "steps_done": len(head.losses)})
    _write_model_card(head, dest)
