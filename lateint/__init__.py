"""lateint: stop cramming documents into one vector.

A small, readable helper library for a course on late interaction (ColBERT, MaxSim).
The core a retrieval user needs is importable from here::

    import lateint
    enc = lateint.load_encoder()                      # embedded all-MiniLM-L6-v2, offline
    D = enc.encode_documents(docs)                    # token vectors, (L_i, dim) each
    index = lateint.MaxSimIndex(doc_ids, D)
    index.search(enc.encode_queries(queries), k=10)   # [(doc_id, score), ...] per query

Layout: the core modules sit at the top of the package (``encoders``, ``pooling``,
``maxsim``, ``index``, ``bm25``, ``evaluate``, ``data``, ``cache``, ``compare``, ``rerank``, and for long
documents ``windows`` (whole documents in overlapping windows) and ``chunking`` (one vector per chunk));
``lateint.lessons`` holds each lesson's helpers, ``lateint.display`` the plots, tables,
highlighting and widgets, and ``lateint.checks`` the exercises' automatic checks.
"""

from .bm25 import BM25
from .tolerance import expect
from .comparison import compare, encode_corpus, retrieve_all
from .data import BeirDataset, load_beir, subsample
from .encoders import DEFAULT_MODEL, Encoder, EncoderLoadError, TruncationWarning, load_encoder
from .metrics import Hit, evaluate, evaluate_per_query, run_from_scores
from .index import MaxSimIndex, PooledIndex, load_index, maxsim_scores
from .similarity import Match, cosine_scores, explain, maxsim, maxsim_batch, pad
from .pooling import pool
from .rerank import two_stage_search
from .windows import encode_cram, encode_whole
from .chunking import ChunkIndex, sentence_chunks, token_chunks

__all__ = [
    "BM25",
    "BeirDataset",
    "ChunkIndex",
    "DEFAULT_MODEL",
    "Encoder",
    "EncoderLoadError",
    "Match",
    "MaxSimIndex",
    "PooledIndex",
    "compare",
    "cosine_scores",
    "encode_corpus",
    "encode_cram",
    "encode_whole",
    "evaluate",
    "evaluate_per_query",
    "Hit",
    "expect",
    "explain",
    "load_beir",
    "load_encoder",
    "load_index",
    "maxsim",
    "maxsim_batch",
    "maxsim_scores",
    "pad",
    "pool",
    "retrieve_all",
    "run_from_scores",
    "sentence_chunks",
    "subsample",
    "token_chunks",
    "TruncationWarning",
    "two_stage_search",
]

__version__ = "0.1.0"
