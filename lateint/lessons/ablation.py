"""Change one thing about MaxSim and measure what it does to retrieval.

Lesson 02 asks two questions of the same model and data:

1. **Normalisation.** MaxSim is usually computed on L2-normalised token vectors, so
   every dot product is a cosine. With the raw vectors, a dot product also grows
   with the two vectors' lengths: tokens with long vectors win maxes whatever
   they mean. :meth:`TokenVectors.normalised_copy` vs the raw vectors measures it.
2. **Which tokens take part.** [CLS], [SEP] and punctuation carry little meaning of
   their own, yet they win some of the maxes. ColBERT drops punctuation from
   documents (its *skiplist*); :meth:`TokenVectors.without` drops any kind of token,
   from the documents or from both sides, and :func:`win_shares` counts how often
   each kind wins.

Token kinds (:func:`token_kind`): ``"special"`` for bracketed tokens such as
``[CLS]``, ``[SEP]``, ``[MASK]``; ``"punctuation"`` for tokens made only of
punctuation; ``"word"`` for everything else (word pieces included).
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from ..cache import encode
from ..metrics import evaluate_scores
from ..index import MaxSimIndex

__all__ = ["TOKEN_KINDS", "token_kind", "TokenVectors", "maxsim_quality", "win_shares", "token_shares", "mean_norms", "variants"]

TOKEN_KINDS = ("special", "punctuation", "word")
_PUNCTUATION = set(string.punctuation)


def token_kind(token: str) -> str:
    """``"special"`` ([CLS], [SEP]...), ``"punctuation"`` (only punctuation marks) or ``"word"``."""
    if len(token) > 2 and token.startswith("[") and token.endswith("]"):
        return "special"
    if token and all(c in _PUNCTUATION for c in token):
        return "punctuation"
    return "word"


@dataclass(frozen=True)
class TokenVectors:
    """Token vectors and token strings of a dataset's queries and documents.

    Attributes:
        queries: one ``(Lq_i, dim)`` tensor per query, in ``ds.query_ids`` order.
        docs: one ``(Ld_j, dim)`` tensor per document, in ``ds.doc_ids`` order.
        query_tokens, document_tokens: the aligned token strings.
        normalised: whether every vector has length 1.
    """

    queries: list[torch.Tensor]
    docs: list[torch.Tensor]
    query_tokens: list[list[str]]
    document_tokens: list[list[str]]
    normalised: bool = False

    @classmethod
    def encode(cls, ds, encoder, cache: bool = True, show_progress: bool = False) -> TokenVectors:
        """The RAW (unnormalised) token vectors of ``ds``'s queries and documents, one forward pass each.

        ``show_progress``: a progress bar per pass while encoding (none for what the cache already holds).
        """

        def run(texts: list[str], kind: str) -> list[torch.Tensor]:
            return encode(encoder, texts, kind, cache=cache, normalize=False, show_progress=show_progress)

        return cls(
            run(ds.query_texts, "queries"),
            run(ds.doc_texts, "documents"),
            encoder.query_tokens(ds.query_texts),
            encoder.document_tokens(ds.doc_texts),
        )

    def normalised_copy(self) -> TokenVectors:
        """The same tokens with every vector scaled to length 1."""
        unit = torch.nn.functional.normalize
        return TokenVectors([unit(v, dim=-1) for v in self.queries], [unit(v, dim=-1) for v in self.docs],
                            self.query_tokens, self.document_tokens, normalised=True)

    def without(self, kinds: Sequence[str], side: str = "docs") -> TokenVectors:
        """A copy without the tokens of ``kinds`` (see :func:`token_kind`).

        Args:
            kinds: e.g. ``("punctuation",)`` for ColBERT's skiplist, or ``("special", "punctuation")``.
            side: ``"docs"`` (what ColBERT does) or ``"both"`` (queries too).

        A text whose every token would go keeps them all (MaxSim needs at least one).
        """
        bad = [k for k in kinds if k not in TOKEN_KINDS]
        if bad or side not in ("docs", "both"):
            raise ValueError(f"kinds must be among {TOKEN_KINDS} and side 'docs' or 'both'; got {list(kinds)}, {side!r}.")
        docs, document_tokens = _drop(self.docs, self.document_tokens, kinds)
        queries, query_tokens = (self.queries, self.query_tokens)
        if side == "both":
            queries, query_tokens = _drop(self.queries, self.query_tokens, kinds)
        return TokenVectors(queries, docs, query_tokens, document_tokens, self.normalised)


def _drop(vectors: list[torch.Tensor], tokens: list[list[str]], kinds: Sequence[str]):
    out_v, out_t = [], []
    for v, toks in zip(vectors, tokens):
        keep = torch.tensor([token_kind(t) not in kinds for t in toks])
        if not keep.any():
            keep[:] = True
        out_v.append(v[keep])
        out_t.append([t for t, k in zip(toks, keep.tolist()) if k])
    return out_v, out_t


def maxsim_quality(ds, tv: TokenVectors, metrics: Sequence[str] = ("recall@2", "ndcg@10")) -> dict[str, float]:
    """``{metric: mean value}`` of brute-force MaxSim retrieval with the vectors ``tv`` on ``ds``."""
    if len(tv.queries) != len(ds.query_ids) or len(tv.docs) != len(ds.doc_ids):
        raise ValueError(
            f"tv holds {len(tv.queries)} queries and {len(tv.docs)} docs but the dataset has "
            f"{len(ds.query_ids)} and {len(ds.doc_ids)}: encode this dataset with TokenVectors.encode(ds, encoder)."
        )
    scores = MaxSimIndex(ds.doc_ids, tv.docs).scores(tv.queries)  # (nq, nd)
    return evaluate_scores(scores, ds, metrics)


def win_shares(ds, tv: TokenVectors) -> dict[str, float]:
    """Share of the maxes won by each kind of DOCUMENT token, over every (query, relevant doc) pair.

    For each query token, MaxSim picks one document token; this counts the kinds of
    the picked tokens. Returns ``{kind: fraction}`` over :data:`TOKEN_KINDS`, summing to 1.
    """
    q_row = {qid: i for i, qid in enumerate(ds.query_ids)}
    d_row = {did: j for j, did in enumerate(ds.doc_ids)}
    counts: Counter[str] = Counter()
    for qid, judged in ds.qrels.items():
        for did, grade in judged.items():
            if grade <= 0:
                continue
            i, j = q_row[qid], d_row[did]
            picked = (tv.queries[i] @ tv.docs[j].T).argmax(dim=1)  # (Lq,) best doc token per query token
            counts.update(token_kind(tv.document_tokens[j][p]) for p in picked.tolist())
    total = sum(counts.values())
    if total == 0:
        raise ValueError("The dataset's qrels hold no relevant (query, document) pair to count.")
    return {kind: counts[kind] / total for kind in TOKEN_KINDS}


def token_shares(tv: TokenVectors) -> dict[str, float]:
    """Share of the DOCUMENT tokens of each kind: ``{kind: fraction}``, summing to 1.

    Compare with :func:`win_shares`: a kind that wins more maxes than its share of the
    tokens punches above its weight.
    """
    counts = Counter(token_kind(t) for toks in tv.document_tokens for t in toks)
    total = sum(counts.values())
    return {kind: counts[kind] / total for kind in TOKEN_KINDS}


def mean_norms(tv: TokenVectors) -> dict[str, float]:
    """Average vector length of each kind of document token: ``{kind: mean L2 norm}``."""
    norms = torch.cat([v.norm(dim=-1) for v in tv.docs])
    kinds = [token_kind(t) for toks in tv.document_tokens for t in toks]
    out = {}
    for kind in TOKEN_KINDS:
        mask = torch.tensor([k == kind for k in kinds])
        if mask.any():
            out[kind] = norms[mask].mean().item()
    return out


def variants(ds, raw: TokenVectors, metrics: Sequence[str] = ("recall@2", "ndcg@10"),
             show_progress: bool = False) -> dict[str, dict[str, float]]:
    """MaxSim quality on ``ds`` under four settings of one encoding: ``{variant: {metric: value}}``.

    Args:
        raw: the raw vectors, ``TokenVectors.encode(ds, encoder)``.

    - ``"normalised"``: the standard (unit-length token vectors, every token);
    - ``"raw"``: unnormalised vectors;
    - ``"skiplist"``: normalised, punctuation dropped from the documents (ColBERT's skiplist);
    - ``"skiplist + [CLS]/[SEP]"``: normalised, punctuation and special tokens dropped on both sides.

    The table has the shape of :func:`lateint.comparison.compare`'s, so
    :func:`lateint.display.plots.bar_compare` draws it. ``show_progress``: a progress bar over the four settings.
    """
    if raw.normalised:
        raise ValueError("variants() needs the raw vectors (TokenVectors.encode), not a normalised copy.")
    unit = raw.normalised_copy()
    settings = {
        "normalised": unit,
        "raw": raw,
        "skiplist": unit.without(["punctuation"], "docs"),
        "skiplist + [CLS]/[SEP]": unit.without(["punctuation", "special"], "both"),
    }
    steps = tqdm(settings.items(), total=len(settings), desc="settings", unit="setting", disable=not show_progress)
    return {name: maxsim_quality(ds, tv, metrics) for name, tv in steps}
