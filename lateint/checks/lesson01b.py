"""Checks for exercise 01b or chunks (``notebooks/exercises/01b_or_chunks.ipynb``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..chunking import best_chunk
from ..metrics import top_k
from .harness import Case, compare_ids, compare_tensor, run_check, seeded_generator


def _chunked(n_docs: int, chunks_per_doc: Sequence[int], nq: int, gen: torch.Generator, shuffle: bool):
    """Chunk scores ``(nq, n_chunks)`` and each chunk's document, chunks of a document in a row or shuffled."""
    chunk_doc = torch.tensor([d for d in range(n_docs) for _ in range(chunks_per_doc[d])])
    if shuffle:
        chunk_doc = chunk_doc[torch.randperm(len(chunk_doc), generator=gen)]
    scores = torch.rand(nq, len(chunk_doc), generator=gen) * 2 - 1  # cosines, negative ones included
    return scores, chunk_doc.tolist()


def check_best_chunk_scores(fn: Callable[[torch.Tensor, list[int], int], torch.Tensor]) -> None:
    """Check ``fn(chunk_scores (nq, n_chunks), chunk_doc list of n_chunks ints, n_docs) -> (nq, n_docs)``:
    each document's score is the best (max) of its chunks' scores.

    Reference: :func:`lateint.chunking.best_chunk`. Scores can be negative, documents have different
    numbers of chunks, and chunks of one document are not always next to each other.
    """
    gen = seeded_generator(30)
    cases = []
    for name, per_doc, nq, shuffle in (
        ("3 queries, 4 documents of 1, 3, 2 and 5 chunks, chunks in document order", (1, 3, 2, 5), 3, False),
        ("2 queries, 5 documents, chunks shuffled (a document's chunks are not next to each other)", (2, 1, 4, 3, 2), 2, True),
        ("1 query, 3 documents of one chunk each (chunk scores are document scores)", (1, 1, 1), 1, False),
        ("4 queries, 4 documents, all scores negative", (2, 2, 3, 1), 4, True),
    ):
        scores, chunk_doc = _chunked(len(per_doc), per_doc, nq, gen, shuffle)
        if "negative" in name:
            scores = -scores.abs() - 0.01
        n_docs = len(per_doc)
        expected = best_chunk(scores, chunk_doc, n_docs)[0]
        owner = torch.tensor(chunk_doc)
        mean = torch.stack([scores[:, owner == d].mean(1) for d in range(n_docs)], dim=1)
        total = torch.stack([scores[:, owner == d].sum(1) for d in range(n_docs)], dim=1)
        first = torch.stack([scores[:, (owner == d).nonzero()[0, 0]] for d in range(n_docs)], dim=1)
        zero_floor = torch.zeros_like(expected).scatter_reduce(1, owner.expand(nq, -1), scores, reduce="amax")
        cases.append(Case(name, (scores, chunk_doc, n_docs), expected, {
            "each document got the MEAN of its chunks' scores; best-chunk scoring takes the max.": mean,
            "each document got the SUM of its chunks' scores, so documents with more chunks win; take the max.": total,
            "each document got its first chunk's score only; take the max over all its chunks.": first,
            "the max started from 0, so documents whose chunks all score below 0 got 0; start from -inf "
            "(or take the max of the chunks' scores themselves).": zero_floor,
        }))
    run_check("check_best_chunk_scores", fn, cases, compare_tensor("(n_queries, n_docs)"),
              "max over each document's chunks, uneven and shuffled chunks, negative scores")


def check_top_documents(fn: Callable[[torch.Tensor, list[int], list[str], int], list[str]]) -> None:
    """Check ``fn(chunk_scores (n_chunks,), chunk_doc, doc_ids, k) -> list of doc ids``: the top ``k``
    DOCUMENTS for one query, best first, each once, a document scored by its best chunk (equal scores by
    doc id, descending, as ``lateint.metrics`` ranks them).

    Reference: :func:`lateint.chunking.best_chunk` then :func:`lateint.metrics.top_k`.
    """
    gen = seeded_generator(31)
    cases = []
    for name, per_doc, k in (
        ("6 documents of 1 to 4 chunks, top 3", (4, 1, 3, 2, 1, 4), 3),
        ("4 documents, one of them with 6 chunks that all score high, top 3", (6, 1, 1, 1), 3),
        ("3 documents, top 5 (more than there are documents: all 3 come back)", (2, 2, 1), 5),
    ):
        scores, chunk_doc = _chunked(len(per_doc), per_doc, 1, gen, True)
        scores = scores[0]
        if "score high" in name:
            scores = torch.where(torch.tensor(chunk_doc) == 0, scores.abs() + 1, scores)
        doc_ids = [f"doc{d}" for d in range(len(per_doc))]
        best = best_chunk(scores.unsqueeze(0), chunk_doc, len(doc_ids))[0]
        expected = [d for d, _ in top_k(best, doc_ids, k)[0]]
        by_chunk = torch.argsort(scores, descending=True)[:k].tolist()
        cases.append(Case(name, (scores, chunk_doc, doc_ids, k), expected, {
            "the top k CHUNKS came back, not the top k documents: one document with several good chunks fills "
            "several places. Score each document by its best chunk first, then rank documents.":
                [doc_ids[chunk_doc[c]] for c in by_chunk],
        }))
    run_check("check_top_documents", fn, cases, compare_ids, "documents once each, by their best chunk")
