"""Training pairs: (query, relevant document) from a BEIR split, with optional mined hard negatives."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable


from ..bm25 import BM25
from ..data import doc_text
from ..encoders import load_encoder
from ..metrics import run_from_scores



@dataclass(frozen=True)
class Pair:
    """One training example: a query, one relevant document and optional hard negatives (texts).

    ``also_relevant``: other documents judged relevant to the query; when one of them is another
    pair's positive in the same batch it is not counted as a negative (NFCorpus judges ~40 per query).
    """

    query: str
    positive: str
    negatives: tuple[str, ...] = ()
    also_relevant: frozenset[str] = field(default=frozenset(), compare=False)

    def __post_init__(self) -> None:
        for name, text in (("query", self.query), ("positive", self.positive), *(("negative", t) for t in self.negatives)):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"A training pair's {name} must be a non-empty string, got {text!r}.")


def training_pairs(
    ds,
    n: int | None = None,
    *,
    seed: int = 0,
    hard_negatives: int = 0,
    miner: str | Callable[[list[str]], list[list[str]]] = "bm25",
) -> list[Pair]:
    """One :class:`Pair` per query of a training split, optionally with mined hard negatives.

    Args:
        ds: a :class:`~lateint.data.BeirDataset` loaded with a training split, e.g.
            ``load_beir("scifact", split="train")``. The test split is refused: training on it
            would make every test figure meaningless.
        n: how many queries (``None``: all). The same ``(n, seed)`` always picks the same queries,
            and a larger ``n`` with the same seed keeps the smaller one's queries (nested sets, so a
            curve over N adds data rather than swapping it).
        seed: which queries, and which positive when a query has several equally relevant ones.
        hard_negatives: documents per query that look relevant but are not judged relevant.
        miner: ``"bm25"`` (the top BM25 hits over ``ds``'s corpus that no judgement of this split
            calls relevant), ``"model"`` (the same with the zero-shot pooled MiniLM), or a function
            ``query ids -> ranked doc ids`` per query.

    Returns:
        ``n`` pairs in a seeded order.
    """
    split = getattr(ds, "split", None)
    if split == "test":
        raise ValueError(
            f"{ds.name!r} was loaded with split='test': training on the test split would make the test "
            "figures meaningless. Load a training split, e.g. load_beir('scifact', split='train')."
        )
    for label, value in (("seed", seed), ("hard_negatives", hard_negatives)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{label} must be a non-negative int, got {value!r}.")
    qids = sorted(ds.qrels)
    if not qids:
        raise ValueError(f"{ds.name!r} ({split}) has no judged queries to train on.")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= len(qids)):
        raise ValueError(
            f"n must be between 1 and the {len(qids)} training queries of {ds.name!r} ({split}), got {n!r}. "
            "Pass n=None for all of them."
        )
    for qid in qids:
        if not any(g > 0 for g in ds.qrels[qid].values()):
            raise ValueError(
                f"Query {qid!r} of {ds.name!r} ({split}) has no relevant document (every judgement is 0): "
                "a contrastive pair needs one. Drop it from the qrels first."
            )
    rng = random.Random(seed)
    chosen = rng.sample(qids, len(qids))[: n or len(qids)]  # a prefix of one permutation: nested in n
    mined = _mine(ds, chosen, hard_negatives, miner) if hard_negatives else {q: [] for q in chosen}
    pairs = []
    for qid in chosen:
        judged = ds.qrels[qid]
        best = max(judged.values())
        positive = rng.choice(sorted(d for d, g in judged.items() if g == best))
        negatives = tuple(_text(ds, d) for d in mined[qid])
        others = frozenset(_text(ds, d) for d, g in judged.items() if g > 0 and d != positive)
        pairs.append(Pair(ds.queries[qid], _text(ds, positive), negatives, others))
    return pairs


def _text(ds, doc_id: str) -> str:
    return doc_text(ds.corpus[doc_id])


def _mine(ds, qids: list[str], k: int, miner) -> dict[str, list[str]]:
    """The top ``k`` documents per query that the split does not judge for it, by ``miner``'s ranking."""
    texts = [ds.queries[q] for q in qids]
    depth = k + max(len(ds.qrels[q]) for q in qids)  # room for the judged ones we skip
    if miner == "bm25":
        run = BM25(ds.doc_ids, ds.doc_texts).run(texts, qids, k=depth)
        ranked = [list(run[q]) for q in qids]
    elif miner == "model":
        enc = load_encoder(device="cpu")
        scores = enc.encode_pooled(texts) @ enc.encode_pooled(ds.doc_texts).T
        run = run_from_scores(scores, qids, ds.doc_ids, k=depth)
        ranked = [list(run[q]) for q in qids]
    elif callable(miner):
        ranked = [list(r) for r in miner(qids)]
    else:
        raise ValueError(f"Unknown miner {miner!r}: use 'bm25', 'model' or a function of the query ids.")
    return {q: [d for d in r if d not in ds.qrels[q]][:k] for q, r in zip(qids, ranked)}
