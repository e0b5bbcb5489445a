"""Search one small collection two ways at once: pooled vector and MaxSim.

    both = SideBySide(encoder, doc_ids, texts)
    both.search("Which planet is the hottest?", k=3)
    # {"pooled": [(doc id, cosine), ...], "maxsim": [(doc id, MaxSim score), ...]}
    print(format_results(both.search(query)))

The two indexes are built from ONE forward pass of the encoder (see
:func:`lateint.comparison.encode_corpus`): same weights, only the scoring differs.
A pooled score is a cosine in [-1, 1]; a MaxSim score is a sum of one cosine per
query token, so it is at most the number of query tokens. Lessons 00 and 02 and
the query stepper (:mod:`lateint.display.widgets`) use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .comparison import encode_corpus
from .index import MaxSimIndex, PooledIndex

__all__ = ["EncodedQuery", "SideBySide", "format_results"]


@dataclass(frozen=True)
class EncodedQuery:
    """One query, encoded both ways.

    Attributes:
        text: the query.
        tokens: its token strings, aligned with the rows of ``vectors``.
        vectors: token vectors ``(Lq, dim)``, L2-normalised (for MaxSim).
        pooled: the pooled vector ``(dim,)``, L2-normalised (for cosine).
    """

    text: str
    tokens: list[str]
    vectors: torch.Tensor
    pooled: torch.Tensor


class SideBySide:
    """A :class:`~lateint.index.PooledIndex` and a :class:`~lateint.index.MaxSimIndex` over the same documents.

    Attributes:
        doc_ids, doc_texts: the documents, in order.
        document_tokens: each document's token strings, aligned with its token vectors.
        pooled, maxsim: the two indexes.
    """

    def __init__(self, encoder, doc_ids: Sequence[str], doc_texts: Sequence[str], cache: bool = True) -> None:
        if len(doc_ids) != len(doc_texts):
            raise ValueError(f"{len(doc_ids)} doc ids but {len(doc_texts)} texts; they must align.")
        self.encoder = encoder
        self.cache = cache
        self.doc_ids = [str(i) for i in doc_ids]
        self.doc_texts = list(doc_texts)
        vecs = encode_corpus(encoder, self.doc_texts, "documents", cache, show_progress=False)
        self.pooled = PooledIndex(self.doc_ids, vecs["pooled"])
        self.maxsim = MaxSimIndex(self.doc_ids, vecs["tokens"])
        self.document_tokens = encoder.document_tokens(self.doc_texts)
        self._docs = self.maxsim.documents()
        self._position = {did: i for i, did in enumerate(self.doc_ids)}

    @classmethod
    def from_dataset(cls, encoder, ds, cache: bool = True) -> SideBySide:
        """Index every document of a :class:`~lateint.data.BeirDataset`."""
        return cls(encoder, ds.doc_ids, ds.doc_texts, cache)

    def __len__(self) -> int:
        return len(self.doc_ids)

    def __repr__(self) -> str:
        return f"SideBySide(docs={len(self)}, encoder={self.encoder.name!r})"

    def encode_query(self, text: str) -> EncodedQuery:
        """Token vectors, token strings and pooled vector of one query."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"The query must be a non-empty string, got {text!r}.")
        q = encode_corpus(self.encoder, [text], "queries", self.cache, show_progress=False)
        return EncodedQuery(text, self.encoder.query_tokens([text])[0], q["tokens"][0], q["pooled"][0])

    def doc_vectors(self, doc_id: str) -> torch.Tensor:
        """The token vectors ``(Ld, dim)`` of one document."""
        return self._docs[self.position(doc_id)]

    def position(self, doc_id: str) -> int:
        """Row of ``doc_id`` in ``doc_ids`` (a clear error for an unknown id)."""
        try:
            return self._position[doc_id]
        except KeyError:
            raise KeyError(f"Unknown doc id {doc_id!r}; this collection holds {self.doc_ids[:5]}...") from None

    def search(self, query: str | EncodedQuery, k: int = 5) -> dict[str, list[tuple[str, float]]]:
        """Top-``k`` documents for one query by each method: ``{"pooled": [...], "maxsim": [...]}``.

        Each list holds ``(doc id, score)`` pairs, best first.
        """
        q = query if isinstance(query, EncodedQuery) else self.encode_query(query)
        return {
            "pooled": self.pooled.search(q.pooled.unsqueeze(0), k)[0],
            "maxsim": self.maxsim.search([q.vectors], k)[0],
        }


def format_results(results: dict[str, list[tuple[str, float]]], width: int = 22) -> str:
    """The rankings of :meth:`SideBySide.search` as a plain-text table, one column per method."""
    if not results:
        raise ValueError("results is empty: pass what SideBySide.search() returned.")
    methods = list(results)
    header = "rank  " + "".join(f"{m:<{width + 9}}" for m in methods)
    lines = [header.rstrip(), "-" * len(header.rstrip())]
    for rank in range(max(len(r) for r in results.values())):
        cells = []
        for m in methods:
            if rank < len(results[m]):
                did, score = results[m][rank]
                cells.append(f"{did[:width]:<{width}} {score:6.3f}  ")
            else:
                cells.append(" " * (width + 9))
        lines.append(f"{rank + 1:>4}  " + "".join(cells).rstrip())
    return "\n".join(lines)
