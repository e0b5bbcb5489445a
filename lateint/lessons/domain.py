"""How far a dataset is from what a model knows: two cheap, measurable signs.

"Out of domain" is usually said, not measured. Two numbers make it concrete:

* :func:`fragmentation`: how many word pieces the model's tokenizer needs per word.
  A WordPiece vocabulary is built from the text the model was pre-trained on, so
  words it met often are one piece ("protein") and rare words fall apart
  ("hyper", "##cholesterol", "##emia"). Many pieces per word means text unlike the
  pre-training data, and token vectors that carry fragments rather than words.
* :func:`query_overlap`: the share of a query's words that its relevant documents
  contain. Low overlap means relevance has to be recognised through meaning, not
  shared words: hard for BM25, and exactly where a model's training matters.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from ..bm25 import STOPWORDS

__all__ = ["fragmentation", "query_overlap", "query_overlaps"]

_WORD = re.compile(r"[A-Za-z]+")


def fragmentation(tokenizer, texts: Sequence[str]) -> dict[str, float]:
    """Word-piece statistics of ``texts`` under ``tokenizer`` (e.g. ``encoder.tokenizer``).

    Words are runs of letters (numbers and punctuation are left out), counted with
    repetition.

    Returns:
        ``{"pieces_per_word": mean pieces per word, "split_share": share of words cut
        into two or more pieces, "words": number of words}``.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string")
    counts = Counter(w for t in texts for w in _WORD.findall(t))
    if not counts:
        raise ValueError("the texts hold no words (runs of letters) to measure")
    words = list(counts)
    pieces = [len(ids) for ids in tokenizer(words, add_special_tokens=False)["input_ids"]]
    total = sum(counts.values())
    return {
        "pieces_per_word": sum(p * counts[w] for w, p in zip(words, pieces)) / total,
        "split_share": sum(counts[w] for w, p in zip(words, pieces) if p > 1) / total,
        "words": total,
    }


def _pair_shares(ds) -> dict[str, list[float]]:
    """Per query of ``ds.qrels``, the share of its content words each relevant document contains."""
    docs = dict(zip(ds.doc_ids, ds.doc_texts))
    shares: dict[str, list[float]] = {}
    for qid, rels in ds.qrels.items():
        q_words = {w.lower() for w in _WORD.findall(ds.queries[qid])} - STOPWORDS
        if not q_words:
            continue
        for did, grade in rels.items():
            if grade > 0:
                d_words = {w.lower() for w in _WORD.findall(docs[did])}
                shares.setdefault(qid, []).append(len(q_words & d_words) / len(q_words))
    if not shares:
        raise ValueError(f"{ds!r} has no relevant (query, document) pair with content words to measure")
    return shares


def query_overlap(ds) -> float:
    """Mean, over judged relevant (query, document) pairs of ``ds``, of the share of the
    query's content words (lower-cased, stopwords left out) that the document contains."""
    pairs = [s for shares in _pair_shares(ds).values() for s in shares]
    return sum(pairs) / len(pairs)


def query_overlaps(ds) -> dict[str, float]:
    """``{query id: overlap}``: per query, the mean over its relevant documents of the share of its content
    words each contains (the pairs :func:`query_overlap` averages, grouped by query). Queries without content
    words or without a relevant document are left out."""
    return {qid: sum(shares) / len(shares) for qid, shares in _pair_shares(ds).items()}
