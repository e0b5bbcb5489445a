"""BM25, the lexical baseline every neural retriever is compared against.

Scoring is done by the `bm25s` library; this module only adds the plumbing the course
needs: doc ids in, a run dict {query id: {doc id: score}} out (see lateint.metrics).

Text is lower-cased, split into words (\\w\\w+), English stopwords are dropped and,
by default, words are stemmed with the Snowball English stemmer (the PyStemmer
package), so "proteins" matches "protein". Defaults k1=1.2, b=0.75 are Lucene's.
"""

from __future__ import annotations

from collections.abc import Sequence

import bm25s
import bm25s.stopwords
import numpy as np
import torch

from .metrics import Hit, Run, check_k, run_from_hits, top_k

# bm25s's English stopword list (what stopwords="en" drops), lower-cased: the function words
# that other modules also leave out when they compare the content words of texts.
STOPWORDS = frozenset(w.lower() for w in bm25s.stopwords.STOPWORDS_EN)


def _english_stemmer():
    try:
        import Stemmer
    except ImportError:
        raise ImportError(
            "stemmer=True needs the PyStemmer package: pip install PyStemmer (or pass stemmer=False to BM25)"
        ) from None
    return Stemmer.Stemmer("english")


def _check_ids(ids: Sequence[str], texts: Sequence[str], what: str) -> None:
    if isinstance(texts, str):
        raise TypeError(f"{what} texts must be a list of strings, not one string")
    if len(ids) != len(texts):
        raise ValueError(f"got {len(ids)} {what} ids but {len(texts)} {what} texts; they must align")
    if len(set(ids)) != len(ids):
        raise ValueError(f"{what} ids contain duplicates; every id must be unique")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{what} text {i} ({ids[i]!r}) is {type(text).__name__}, not str")


class BM25:
    """A BM25 index over a fixed list of documents.

    >>> bm25 = BM25(["a", "b"], ["the cat sat on the mat", "dogs chase cats"])
    >>> bm25.search(["cat on a mat"], k=1)  # doctest: +ELLIPSIS
    [[Hit(doc_id='a', score=0.397...)]]
    >>> bm25.run(["cat on a mat"], ["q1"], k=1)  # doctest: +ELLIPSIS
    {'q1': {'a': 0.397...}}
    >>> bm25.scores(["cats"])  # stemming: "cats" also matches "cat"  # doctest: +ELLIPSIS
    tensor([[0.08..., 0.08...]])
    """

    def __init__(
        self,
        doc_ids: Sequence[str],
        texts: Sequence[str],
        *,
        stopwords: str | list[str] | None = "en",
        stemmer: bool = True,
        k1: float = 1.2,
        b: float = 0.75,
    ) -> None:
        """Index `texts[i]` under `doc_ids[i]`.

        stopwords: "en" for bm25s's English list, a list of your own, or None for none
        stemmer:   stem words with Snowball English (needs PyStemmer)
        k1, b:     BM25's term-frequency saturation and length normalisation
        """
        _check_ids(doc_ids, texts, "document")
        if len(doc_ids) == 0:
            raise ValueError("cannot build a BM25 index over an empty corpus; pass at least one document")
        self.doc_ids = list(doc_ids)
        self.stopwords = stopwords or []
        self.stemmer = _english_stemmer() if stemmer else None
        self.retriever = bm25s.BM25(k1=k1, b=b)
        self.retriever.index(self._tokenize(list(texts)), show_progress=False)

    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        return bm25s.tokenize(
            texts, stopwords=self.stopwords, stemmer=self.stemmer, return_ids=False, show_progress=False
        )

    def scores(self, queries: Sequence[str]) -> torch.Tensor:
        """BM25 score of every document for each query: ``(n_queries, n_docs)`` float32.

        The same signature as the indexes' ``scores``. A document sharing no
        (non-stopword) term with a query scores 0.
        """
        if isinstance(queries, str):
            raise TypeError("queries must be a list of strings; wrap one query in a list: scores([query])")
        rows = []
        for i, query in enumerate(queries):
            if not isinstance(query, str) or not query.strip():
                raise ValueError(f"query {i} is {query!r}; BM25 needs some words to match")
            known = [t for t in self._tokenize([query])[0] if t in self.retriever.vocab_dict]
            # only stopwords or words no document contains: every document scores 0
            rows.append(self.retriever.get_scores(known) if known else np.zeros(len(self.doc_ids), dtype=np.float32))
        if not rows:
            raise ValueError("No queries: pass a list of query strings.")
        return torch.from_numpy(np.stack(rows).astype(np.float32))

    def search(self, queries: Sequence[str], k: int = 10) -> list[list[Hit]]:
        """Top-``k`` documents for each query, best first, as :class:`~lateint.metrics.Hit` ``(doc_id, score)``.

        The same return type as the indexes' ``search``. Documents with score 0 (no term
        in common with the query) are left out, as Lucene does, so a query can get fewer
        than ``k`` results, or none. Ties are ordered like ``lateint.metrics``.
        """
        k = check_k(k)
        hits = []
        for start in range(0, len(queries), 256):  # a (256, n_docs) score block at a time
            block = top_k(self.scores(queries[start : start + 256]), self.doc_ids, k)
            hits += [[hit for hit in row if hit.score > 0] for row in block]
        return hits

    def run(self, queries: Sequence[str], query_ids: Sequence[str], k: int = 100) -> Run:
        """:meth:`search` as a run ``{query id: {doc id: score}}``, for ``lateint.metrics``."""
        _check_ids(query_ids, queries, "query")
        return run_from_hits(query_ids, self.search(queries, k))

    def __repr__(self) -> str:
        return f"BM25(docs={len(self.doc_ids)}, stemmer={self.stemmer is not None})"
