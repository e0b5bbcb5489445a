#!/usr/bin/env python
"""Encode texts with PyLate and write the token embeddings to an .npz file.

Run it with the PyLate virtualenv (PyLate pins an older transformers and a torch-specific fast-plaid, so it lives in its own
virtual environment, never as a dependency of lateint; see tests/test_encoder_formats.py):

    $LATEINT_PYLATE_PYTHON tests/pylate_encode.py CHECKPOINT_DIR TEXTS.json OUT.npz

A virtualenv that runs it (PyLate 1.6.0 pins sentence-transformers 5.3.0 and transformers <= 5.3.0;
its indexes' dependencies, fast-plaid and fastkmeans, are not needed to encode)::

    python3 -m venv /tmp/pylate-venv
    /tmp/pylate-venv/bin/pip install torch==2.13.0 transformers==5.3.0 scipy scikit-learn datasets
    /tmp/pylate-venv/bin/pip install --no-deps pylate==1.6.0 sentence-transformers==5.3.0
    export LATEINT_PYLATE_PYTHON=/tmp/pylate-venv/bin/python

TEXTS.json is either {"queries": [...], "documents": [...]} (either key may be
missing) or a plain list of strings (encoded both as queries and as documents).

OUT.npz holds, for i = 0..n-1, ``query_{i}`` (float32, shape (tokens, dim)) and
``document_{i}``; ``query_input_ids`` and ``query_attention_mask`` (int64, shape (n, L): what
``ColBERT.tokenize(queries, is_query=True)`` gives for the whole list at once), and likewise
``document_input_ids`` / ``document_attention_mask``; plus ``info`` (a JSON string: PyLate version, the resolved
settings PyLate used, the texts). Embeddings are what
``pylate.models.ColBERT(model_name_or_path=CHECKPOINT_DIR, device="cpu").encode(
texts, is_query=...)`` returns (L2-normalised, padding / skiplist tokens removed
for documents, all query_length rows kept for queries).

Works for PyLate checkpoints and for Stanford checkpoints (config.json with
architectures ["HF_ColBERT"] + artifact.metadata), which PyLate converts on load.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("texts_json")
    ap.add_argument("out_npz")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--quiet", action="store_true", help="silence PyLate/transformers logging")
    args = ap.parse_args(argv)

    if args.quiet:
        logging.disable(logging.WARNING)
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TQDM_DISABLE", "1")

    import numpy as np
    import torch
    import pylate
    from pylate import models

    torch.manual_seed(0)  # only matters if PyLate had to initialise something (it should not)

    with open(args.texts_json, encoding="utf-8") as f:
        spec = json.load(f)
    if isinstance(spec, list):
        queries, documents = list(spec), list(spec)
    else:
        queries, documents = list(spec.get("queries", [])), list(spec.get("documents", []))

    model = models.ColBERT(model_name_or_path=args.checkpoint, device="cpu")
    arrays: dict[str, np.ndarray] = {}
    if queries:
        for i, e in enumerate(model.encode(queries, is_query=True, batch_size=args.batch_size,
                                           show_progress_bar=False)):
            arrays[f"query_{i}"] = np.asarray(e, dtype=np.float32)
    if documents:
        for i, e in enumerate(model.encode(documents, is_query=False, batch_size=args.batch_size,
                                           show_progress_bar=False)):
            arrays[f"document_{i}"] = np.asarray(e, dtype=np.float32)
    for kind, texts in (("query", queries), ("document", documents)):
        if texts:
            features = model.tokenize(texts, is_query=kind == "query")
            for key in ("input_ids", "attention_mask"):
                arrays[f"{kind}_{key}"] = features[key].numpy().astype(np.int64)

    info = {
        "pylate_version": getattr(pylate, "__version__", None),
        "torch_version": torch.__version__,
        "query_prefix": model.query_prefix,
        "document_prefix": model.document_prefix,
        "query_prefix_id": model.query_prefix_id,
        "document_prefix_id": model.document_prefix_id,
        "query_length": model.query_length,
        "document_length": model.document_length,
        "do_query_expansion": model.do_query_expansion,
        "attend_to_expansion_tokens": model.attend_to_expansion_tokens,
        "skiplist_ids": sorted(int(i) for i in model.skiplist),
        "pad_token_id": model.tokenizer.pad_token_id,
        "modules": [type(m).__name__ for m in model],
        "queries": queries,
        "documents": documents,
    }
    arrays["info"] = np.array(json.dumps(info))
    np.savez(args.out_npz, **arrays)
    print(f"wrote {len(queries)} queries, {len(documents)} documents to {args.out_npz}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
