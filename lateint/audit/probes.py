"""Label-free probes in the manner of the inverse cloze task (Lee, Chang & Toutanova, ACL 2019,
https://arxiv.org/abs/1906.00300): a sentence taken out of a document becomes a query, and the probe
succeeds when its document (without that sentence) comes back in the top ``k``.

Probes are drawn so that every kind of document and every place in it is asked about: each candidate
sentence falls in one cell of (document length bin) x (position bin), where the bins are counted in
the model's window ``W`` (254 text tokens for all-MiniLM-L6-v2)::

    length:   <= W | W-2W | 2W-4W | > 4W          (the document's tokens)
    position: first window | second window | further    (the token where the sentence starts)

and the cells take turns giving a probe (seeded), so a rare cell (a sentence past the window of a long
document) is asked about as often as a common one while it has sentences left. A document gives at
most ``per_doc`` probes; all its probe sentences are removed from it, so the corpus is encoded once.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from bisect import bisect_left
from dataclasses import dataclass, replace
from typing import Sequence

from ..chunking import split_sentences
from ..data import BeirDataset

__all__ = ["Probe", "LENGTH_BINS", "POSITION_BINS", "length_bin", "position_bin", "make_probes", "probe_dataset"]

LENGTH_BINS = ("fits the window", "1-2 windows", "2-4 windows", "over 4 windows")
POSITION_BINS = ("first window", "second window", "further")
MIN_WORDS, MAX_TOKENS = 6, 64  # a probe sentence: at least this many words (70 % of it words, not code), at most this many tokens
MIN_LEFT = 30  # tokens the document must keep without its probe sentences


@dataclass(frozen=True)
class Probe:
    """One probe: its ``id``, the document ``doc`` it comes from, the ``sentence`` (the query), its character
    span in the document, the token where it starts, the document's tokens and the two bins."""

    id: str
    doc: str
    sentence: str
    char_start: int
    char_end: int
    token_start: int
    doc_tokens: int
    length: str
    position: str


def length_bin(n_tokens: int, window: int) -> str:
    """The :data:`LENGTH_BINS` label of a document of ``n_tokens`` text tokens."""
    for limit, label in zip((1, 2, 4), LENGTH_BINS):
        if n_tokens <= limit * window:
            return label
    return LENGTH_BINS[-1]


def position_bin(token_start: int, window: int) -> str:
    """The :data:`POSITION_BINS` label of a sentence starting at text token ``token_start``."""
    return POSITION_BINS[min(token_start // window, 2)]


def _candidates(doc: str, text: str, offsets: list[tuple[int, int]], window: int) -> list[Probe]:
    starts = [a for a, _ in offsets]
    out = []
    for a, b in split_sentences(text):
        sentence = text[a:b]
        first, last = bisect_left(starts, a), bisect_left(starts, b)
        n = last - first
        words = sentence.split()
        prose = sum(bool(re.fullmatch(r"[(\"']?[^\W\d_]+(?:['’-][^\W\d_]+)*[,;:.!?'\")]*", w)) for w in words)  # words of letters, not code
        symbols = any(not re.search(r"\w", w) and w not in ("-", "–", "—", "&") for w in words)  # >>>, =, {...}
        if prose < MIN_WORDS or prose < 0.75 * len(words) or symbols or n > MAX_TOKENS or len(offsets) - n < MIN_LEFT:
            continue
        out.append(Probe("", doc, sentence, a, b, first, len(offsets), length_bin(len(offsets), window),
                         position_bin(first, window)))
    return out


def make_probes(encoder, doc_ids: Sequence[str], texts: Sequence[str], n: int = 300, per_doc: int = 2,
                seed: int = 0, window: int | None = None) -> list[Probe]:
    """Up to ``n`` probes over the documents, stratified by length and position (module docstring).

    Args:
        encoder: gives the tokenizer (token positions) and the window ``W`` (``lateint.windows.default_window``).
        doc_ids, texts: the documents.
        n: probes wanted; fewer when the documents hold fewer usable sentences.
        per_doc: most probes drawn from one document.
        seed: the same seed, the same probes.
    """
    from ..windows import default_window

    if not isinstance(n, int) or n < 1 or not isinstance(per_doc, int) or per_doc < 1:
        raise ValueError(f"n and per_doc must be positive ints, got n={n!r}, per_doc={per_doc!r}.")
    window = window or default_window(encoder)
    cells: dict[tuple[str, str], list[Probe]] = defaultdict(list)
    for s in range(0, len(texts), 64):  # tokenized 64 documents at a time: bounded memory
        batch = list(texts[s : s + 64])
        enc = encoder.tokenizer(batch, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
        for doc, text, offs in zip(doc_ids[s : s + 64], batch, enc["offset_mapping"]):
            for p in _candidates(doc, text, [tuple(o) for o in offs], window):
                cells[(p.length, p.position)].append(p)
    rng = random.Random(seed)
    order = sorted(cells)
    for key in order:
        rng.shuffle(cells[key])
    taken: dict[str, int] = defaultdict(int)
    out: list[Probe] = []
    while len(out) < n and any(cells.values()):
        for key in order:
            pool = cells[key]
            while pool and taken[pool[-1].doc] >= per_doc:
                pool.pop()
            if pool and len(out) < n:
                p = pool.pop()
                taken[p.doc] += 1
                out.append(p)
    place = {d: i for i, d in enumerate(doc_ids)}
    out.sort(key=lambda p: (place[p.doc], p.char_start))
    return [replace(p, id=f"probe-{i}") for i, p in enumerate(out)]


def probe_dataset(doc_ids: Sequence[str], texts: Sequence[str], probes: Sequence[Probe], name: str = "probes") -> BeirDataset:
    """The probe task as a dataset: queries = probe sentences, each judged relevant (grade 1) to its own
    document only, and the corpus = the documents with all their probe sentences removed."""
    cut = defaultdict(list)
    for p in probes:
        cut[p.doc].append((p.char_start, p.char_end))
    corpus = {}
    for d, text in zip(doc_ids, texts):
        for a, b in sorted(cut.get(d, ()), reverse=True):
            text = text[:a] + " " + text[b:]
        corpus[d] = {"title": "", "text": " ".join(text.split())}
    return BeirDataset(name=name, corpus=corpus, queries={p.id: p.sentence for p in probes},
                       qrels={p.id: {p.doc: 1} for p in probes}, split="probes")
