"""Chunking: the usual answer to long documents, as retrieval pipelines do it.

Cut each document into chunks, pool each chunk into ONE vector, and score a document by its
best chunk. Two chunkers:

- :func:`token_chunks`: fixed windows of ``size`` tokens, ``overlap`` tokens shared by
  neighbours, the last chunk shorter when the text runs out (it is kept, never dropped);
- :func:`sentence_chunks`: whole sentences (split by ``sentencex``), packed in order into chunks
  of at most ``max_tokens`` tokens; a single sentence longer than that is cut like token chunks.

Both return :class:`Chunk` records that remember their document and where they sit in it (token
and character positions), so a search can return documents, not chunks, and still show the chunk
that won. :class:`ChunkIndex` does that: :meth:`ChunkIndex.scores` is ``(n_queries, n_docs)``,
each document's score the best of its chunks' cosines (:func:`best_chunk`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from .encoders import check_texts
from .metrics import check_k, top_k
from .index import Index
from .similarity import cosine_scores

__all__ = ["Chunk", "chunk_spans", "token_chunks", "sentence_chunks", "best_chunk", "best_chunk_fast", "ChunkIndex"]


@dataclass(frozen=True)
class Chunk:
    """One piece of a document: its document's position ``doc`` in the input list, its number
    ``index`` within that document, its text, its tokens ``[start, end)`` and characters ``[char_start, char_end)``."""

    doc: int
    index: int
    text: str
    start: int
    end: int
    char_start: int
    char_end: int

    @property
    def n_tokens(self) -> int:
        return self.end - self.start


def chunk_spans(n_tokens: int, size: int, overlap: int = 0) -> list[tuple[int, int]]:
    """Token spans ``[(start, end), ...]`` of chunks of ``size`` tokens, each starting ``size - overlap``
    after the previous; the last one ends at ``n_tokens`` (shorter than ``size`` if the text runs out)."""
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"Chunk size must be a positive number of tokens, got {size!r}.")
    if not isinstance(overlap, int) or overlap < 0:
        raise ValueError(f"overlap must be 0 or more tokens, got {overlap!r}.")
    if overlap >= size:
        raise ValueError(
            f"overlap ({overlap}) must be smaller than the chunk size ({size}): chunks would never move forward. "
            f"Use an overlap below {size} (10-25 % of the size is common)."
        )
    spans, start = [], 0
    while True:
        end = min(start + size, n_tokens)
        spans.append((start, end))
        if end >= n_tokens:
            return spans
        start += size - overlap


def _offsets(encoder, texts: list[str]) -> list[list[tuple[int, int]]]:
    """Character span of each text token (special tokens left out), from a fast tokenizer."""
    tok = encoder.tokenizer
    if not getattr(tok, "is_fast", False):
        raise ValueError("Chunking by tokens needs a fast (Rust) tokenizer, which gives each token's character offsets.")
    enc = tok(texts, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
    return [[tuple(o) for o in offs] for offs in enc["offset_mapping"]]


def _chunk(doc: int, index: int, text: str, offs: list[tuple[int, int]], s: int, e: int) -> Chunk:
    a, b = offs[s][0], offs[e - 1][1]
    return Chunk(doc, index, text[a:b], s, e, a, b)


def token_chunks(encoder, texts: Sequence[str], size: int, overlap: int = 0) -> list[Chunk]:
    """Every document cut into chunks of ``size`` tokens (the encoder's tokenizer), ``overlap`` shared.

    A chunk's text is the document's characters from its first token to its last (whitespace and case
    as in the document). Returns the chunks of all documents, document by document, in order.
    """
    texts = check_texts(texts)
    chunk_spans(1, size, overlap)  # checks size and overlap even for short texts
    out = []
    for d, (text, offs) in enumerate(zip(texts, _offsets(encoder, texts))):
        for i, (s, e) in enumerate(chunk_spans(len(offs), size, overlap)):
            out.append(_chunk(d, i, text, offs, s, e))
    return out


def split_sentences(text: str, language: str = "en") -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``, by ``sentencex`` (rule-based, ~300 languages)."""
    from sentencex import segment

    spans, pos = [], 0
    for sentence in segment(language, text):
        piece = sentence.strip()
        if not piece:
            continue
        at = text.find(piece, pos)
        if at < 0:  # the splitter changed the text: fall back to where we are
            at = pos
        spans.append((at, at + len(piece)))
        pos = at + len(piece)
    return spans


def sentence_chunks(encoder, texts: Sequence[str], max_tokens: int = 128, language: str = "en") -> list[Chunk]:
    """Every document cut at sentence ends: consecutive sentences packed into chunks of at most
    ``max_tokens`` tokens; a sentence longer than ``max_tokens`` alone is cut into token chunks."""
    texts = check_texts(texts)
    chunk_spans(1, max_tokens, 0)
    out = []
    for d, (text, offs) in enumerate(zip(texts, _offsets(encoder, texts))):
        starts = [a for a, _ in offs]
        pieces, i = [], 0  # token spans of sentences (long ones already cut)
        for a, b in split_sentences(text, language):
            s = i
            while i < len(offs) and starts[i] < b:
                i += 1
            pieces += [(s + x, s + y) for x, y in chunk_spans(i - s, max_tokens)] if i > s else []
        if i < len(offs):  # tokens after the last sentence the splitter saw
            pieces += [(i + x, i + y) for x, y in chunk_spans(len(offs) - i, max_tokens)]
        packed: list[list[int]] = []
        for s, e in pieces:
            if packed and e - packed[-1][0] <= max_tokens:
                packed[-1][1] = e
            else:
                packed.append([s, e])
        out += [_chunk(d, n, text, offs, s, e) for n, (s, e) in enumerate(packed)]
    return out


def best_chunk(chunk_scores: torch.Tensor, chunk_doc: Sequence[int], n_docs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each document's best chunk: the readable version.

    Args:
        chunk_scores: ``(nq, n_chunks)`` scores of every chunk.
        chunk_doc: the document (0 .. n_docs-1) each chunk belongs to, ``n_chunks`` of them.
        n_docs: number of documents; each must own at least one chunk.

    Returns:
        ``(scores, winner)``, both ``(nq, n_docs)``: a document's score is its best chunk's, ``winner``
        the position of that chunk in ``chunk_scores`` (the first one on a tie).
    """
    chunk_doc = torch.as_tensor(chunk_doc)
    scores = torch.empty((chunk_scores.shape[0], n_docs), dtype=chunk_scores.dtype)
    winner = torch.empty((chunk_scores.shape[0], n_docs), dtype=torch.long)
    for d in range(n_docs):
        mine = (chunk_doc == d).nonzero().squeeze(1)  # this document's chunks
        if len(mine) == 0:
            raise ValueError(f"Document {d} has no chunk: every document needs at least one.")
        best = chunk_scores[:, mine].max(dim=1)
        scores[:, d], winner[:, d] = best.values, mine[best.indices]
    return scores, winner


def best_chunk_fast(chunk_scores: torch.Tensor, chunk_doc: Sequence[int], n_docs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`best_chunk` in a few tensor operations (the tests prove them equal)."""
    chunk_doc = torch.as_tensor(chunk_doc)
    if len(chunk_doc) == 0 or bool((torch.bincount(chunk_doc, minlength=n_docs) == 0).any()):
        raise ValueError("Every document needs at least one chunk; some have none.")
    nq = chunk_scores.shape[0]
    index = chunk_doc.expand(nq, -1)
    scores = torch.full((nq, n_docs), float("-inf"), dtype=chunk_scores.dtype)
    scores.scatter_reduce_(1, index, chunk_scores, reduce="amax")
    # the winner: the first chunk whose score equals its document's best
    hit = chunk_scores == scores.gather(1, index)
    position = torch.arange(len(chunk_doc)).expand(nq, -1)
    big = torch.full_like(position, len(chunk_doc))
    winner = torch.full((nq, n_docs), len(chunk_doc), dtype=torch.long)
    winner.scatter_reduce_(1, index, torch.where(hit, position, big), reduce="amin")
    return scores, winner


Chunker = Callable[[object, Sequence[str]], list[Chunk]]


class ChunkIndex(Index):
    """One pooled vector per chunk; documents scored by their best chunk (cosine).

    Args:
        doc_ids: one id per document.
        chunks: the chunks of all documents (``Chunk.doc`` = position in ``doc_ids``).
        vectors: ``(n_chunks, dim)``, row ``i`` the pooled vector of ``chunks[i]``.
    """

    kind = "chunks"

    def __init__(self, doc_ids: Sequence[str], chunks: Sequence[Chunk], vectors: torch.Tensor) -> None:
        super().__init__(doc_ids)
        if not isinstance(vectors, torch.Tensor) or vectors.dim() != 2 or vectors.shape[0] != len(chunks):
            raise ValueError(f"vectors must be (n_chunks, dim) with one row per chunk ({len(chunks)}), "
                             f"got {getattr(vectors, 'shape', type(vectors).__name__)}.")
        self.chunks = list(chunks)
        self.chunk_doc = torch.tensor([c.doc for c in self.chunks], dtype=torch.long)
        if len(self.chunks) and (int(self.chunk_doc.min()) < 0 or int(self.chunk_doc.max()) >= len(self.doc_ids)):
            raise ValueError(f"Chunk documents must be positions 0..{len(self.doc_ids) - 1} in doc_ids.")
        self.vectors = torch.nn.functional.normalize(vectors.float(), dim=-1)

    @classmethod
    def from_texts(cls, encoder, doc_ids: Sequence[str], texts: Sequence[str], chunker: Chunker, **kw) -> "ChunkIndex":
        """Chunk ``texts`` with ``chunker(encoder, texts)`` (e.g. ``lambda e, t: token_chunks(e, t, 128, 16)``),
        pool every chunk with ``encoder.encode_pooled`` and index them."""
        chunks = chunker(encoder, texts)
        return cls(doc_ids, chunks, encoder.encode_pooled([c.text for c in chunks], **kw))

    @property
    def chunks_per_doc(self) -> float:
        return len(self.chunks) / len(self.doc_ids)

    @property
    def bytes_per_doc(self) -> float:
        """float32 bytes stored per document: its chunks' vectors."""
        return self.chunks_per_doc * self.vectors.shape[1] * 4

    def best(self, queries: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(scores, winner)``, both ``(nq, n_docs)``, for pooled queries ``(nq, dim)``: :func:`best_chunk`."""
        return best_chunk_fast(cosine_scores(queries, self.vectors), self.chunk_doc, len(self.doc_ids))

    def scores(self, queries: torch.Tensor) -> torch.Tensor:
        """Each document's best-chunk cosine for pooled queries ``(nq, dim)``: ``(nq, n_docs)``."""
        return self.best(queries)[0]

    def search_chunks(self, queries: torch.Tensor, k: int = 10) -> list[list[tuple[str, float, Chunk]]]:
        """Top-``k`` documents per query (each once), with the chunk that won: ``(doc_id, score, chunk)``."""
        scores, winner = self.best(queries)
        position = {d: j for j, d in enumerate(self.doc_ids)}
        return [[(d, s, self.chunks[int(winner[i, position[d]])]) for d, s in hits]
                for i, hits in enumerate(top_k(scores, self.doc_ids, check_k(k)))]

    def _tensors(self) -> dict[str, torch.Tensor]:
        """What :meth:`save` writes: the vectors, each chunk's six positions and its text as UTF-8 bytes.

        ``spans`` ``(n_chunks, 6)``: doc, index, start, end, char_start, char_end; ``text_bytes`` ``(total,)``
        uint8 and ``text_lengths`` ``(n_chunks,)``: chunk ``i``'s text is its slice of the bytes.
        """
        encoded = [c.text.encode("utf-8") for c in self.chunks]
        spans = [[c.doc, c.index, c.start, c.end, c.char_start, c.char_end] for c in self.chunks]
        return {
            "vectors": self.vectors.contiguous(),
            "spans": torch.tensor(spans, dtype=torch.long).reshape(len(self.chunks), 6),
            "text_bytes": torch.from_numpy(np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()),
            "text_lengths": torch.tensor([len(b) for b in encoded], dtype=torch.long),
        }

    @classmethod
    def from_tensors(cls, doc_ids: Sequence[str], tensors: dict[str, torch.Tensor]) -> "ChunkIndex":
        """The index :meth:`save` wrote, from its ``tensors`` (:func:`lateint.load_index` reads the file)."""
        data, chunks, at = tensors["text_bytes"].numpy().tobytes(), [], 0
        for row, n in zip(tensors["spans"].tolist(), tensors["text_lengths"].tolist()):
            chunks.append(Chunk(row[0], row[1], data[at : at + n].decode("utf-8"), *row[2:]))
            at += n
        return cls(doc_ids, chunks, tensors["vectors"])
