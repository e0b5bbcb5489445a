"""The interaction spectrum: what a pooled vector, MaxSim and a cross-encoder each cost, and where
MaxSim's score comes from.

Three ways to score a (query, document) pair with the same kind of encoder:

* **no interaction** (bi-encoder): each text becomes one pooled vector, offline for documents; a
  score is one dot product;
* **late interaction** (ColBERT): each text becomes its token vectors, offline for documents; a
  score is MaxSim over the two sets;
* **full interaction** (cross-encoder): the query and the document are concatenated and read
  *together* by the encoder, so nothing about a document can be computed before the query comes.

:func:`interaction_costs` counts what each costs, for a corpus of ``D`` documents of ``L`` tokens
and a query of ``q`` tokens, from the encoder's own sizes (:func:`encoder_size`);
:func:`time_cross_encoding` measures, on the real encoder, what rerunning it per document costs.

:func:`score_mass` and :func:`relevant_mass` split MaxSim scores of relevant documents by how each
query token found its match: the *same word piece* in the document (an exact match), a different
piece with a cosine of at least ``near`` (a near-exact match), the special tokens ([CLS], [SEP]
meeting their counterparts), or anything else. :func:`matched_maxsim_scores` scores with exact
matches only, or with exact matches removed, and :func:`exact_match_ablation` ranks with each::

    report = relevant_mass(ds, enc)              # {"special": share, "exact": share, ...}
    table = exact_match_ablation(ds, enc)       # {variant: nDCG@10}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from ..comparison import encode_corpus
from ..display.tables import format_table
from ..metrics import evaluate_scores, metric_name
from ..index import MaxSimIndex, PooledIndex
from ..similarity import Match, check_same_dim, check_tokens, explain
from .cost import best_of

__all__ = [
    "SPECIAL_TOKENS",
    "MATCH_KINDS",
    "INTERACTIONS",
    "EncoderSize",
    "encoder_size",
    "forward_macs",
    "mean_lengths",
    "interaction_costs",
    "format_costs",
    "time_cross_encoding",
    "match_kind",
    "score_mass",
    "relevant_mass",
    "matched_maxsim_scores",
    "exact_match_ablation",
]

SPECIAL_TOKENS = frozenset({"[CLS]", "[SEP]", "[Q]", "[D]"})
MATCH_KINDS = ("special", "exact", "near", "other")
INTERACTIONS = ("no interaction (pooled)", "late interaction (MaxSim)", "full interaction (cross-encoder)")


# ------------------------------------------------------------------------------- what each costs


@dataclass(frozen=True)
class EncoderSize:
    """The sizes that set a BERT-style encoder's cost.

    layers: transformer layers; hidden: width of each token's state; intermediate: width of the
    feed-forward layer; dim: size of the vectors stored and scored (``hidden``, or the output
    size of a projection on top).
    """

    layers: int
    hidden: int
    intermediate: int
    dim: int

    def __post_init__(self) -> None:
        for name in ("layers", "hidden", "intermediate", "dim"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"EncoderSize.{name} must be a positive int, got {v!r}")


def encoder_size(encoder) -> EncoderSize:
    """The :class:`EncoderSize` of a lateint ``Encoder`` (read from its model's config)."""
    cfg = encoder.model.config
    return EncoderSize(cfg.num_hidden_layers, cfg.hidden_size, cfg.intermediate_size, int(encoder.dim))


def forward_macs(size: EncoderSize, n_tokens: int) -> int:
    """Multiply-adds of one encoder pass over ``n_tokens`` tokens.

    Per layer: the four ``hidden x hidden`` attention projections (query, key, value, output) and
    the two feed-forward matrices for every token, ``n * (4 h^2 + 2 h i)``, plus attention itself,
    every token against every token, ``2 n^2 h``; then a projection to ``dim``, if there is one.
    Embedding look-ups, layer norms, biases and the softmax are left out: each costs about one
    operation per number (``n x h`` or ``n^2`` per head), far less than the matrix products.
    """
    if not isinstance(n_tokens, int) or n_tokens < 1:
        raise ValueError(f"n_tokens must be a positive int, got {n_tokens!r}")
    n, h = n_tokens, size.hidden
    per_layer = n * (4 * h * h + 2 * h * size.intermediate) + 2 * n * n * h
    projection = n * h * size.dim if size.dim != h else 0
    return size.layers * per_layer + projection


def mean_lengths(ds, encoder) -> tuple[int, int]:
    """``(q, L)``: the mean number of token vectors per query and per document of ``ds``, as
    ``encoder`` tokenizes and cuts them (special tokens included), rounded to whole tokens."""
    if not ds.query_texts or not ds.doc_texts:
        raise ValueError(f"{ds!r} needs at least one query and one document")
    q, d = encoder.query_tokens(ds.query_texts), encoder.document_tokens(ds.doc_texts)
    return round(sum(map(len, q)) / len(q)), round(sum(map(len, d)) / len(d))


def interaction_costs(
    size: EncoderSize, n_docs: int, doc_tokens: int, query_tokens: int, bytes_per_value: int = 4
) -> dict[str, dict[str, float]]:
    """What each point of the spectrum costs at index time and at query time, counted.

    Args:
        size: the encoder's sizes (:func:`encoder_size`).
        n_docs: ``D``, documents in the corpus.
        doc_tokens: ``L``, tokens per document ([CLS] and [SEP] included).
        query_tokens: ``q``, tokens per query ([CLS] and [SEP] included).
        bytes_per_value: bytes of one stored number (4 for float32).

    Returns:
        ``{interaction: {column: value}}`` with columns ``"index passes"`` (encoder passes over the
        corpus, done once, offline), ``"index GMACs"`` (their multiply-adds, in billions),
        ``"bytes/doc"`` (stored per document: ``dim`` numbers pooled, ``L x dim`` late, nothing
        for a cross-encoder, which keeps only the text), ``"query passes"`` (encoder passes per
        query: 1, 1 and ``D``) and ``"query GMACs"`` (encoder plus scoring multiply-adds per
        query: ``D x dim`` dot products pooled, ``D x q x L x dim`` for MaxSim, ``D`` passes over
        the ``q + L - 1`` tokens of ``[CLS] query [SEP] document [SEP]`` for a cross-encoder).
    """
    for name, v in (("n_docs", n_docs), ("doc_tokens", doc_tokens), ("query_tokens", query_tokens),
                    ("bytes_per_value", bytes_per_value)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    D, L, q, dim = n_docs, doc_tokens, query_tokens, size.dim
    index_gmacs = D * forward_macs(size, L) / 1e9
    query_pass = forward_macs(size, q)
    rows = (
        (D, index_gmacs, dim, 1, query_pass + D * dim),
        (D, index_gmacs, L * dim, 1, query_pass + D * q * L * dim),
        (0, 0.0, 0, D, D * forward_macs(size, q + L - 1)),
    )
    return {
        name: {"index passes": passes, "index GMACs": gmacs, "bytes/doc": values * bytes_per_value,
               "query passes": q_passes, "query GMACs": q_macs / 1e9}
        for name, (passes, gmacs, values, q_passes, q_macs) in zip(INTERACTIONS, rows)
    }


def format_costs(table: Mapping[str, Mapping[str, float]]) -> str:
    """:func:`interaction_costs`'s table as text: counts with thousands separators, GMACs to 0.1."""

    def cell(v: float) -> str:
        return f"{v:,.1f}" if isinstance(v, float) else f"{v:,}"

    return format_table({row: {c: cell(v) for c, v in cols.items()} for row, cols in table.items()}, first="")


@torch.inference_mode()
def time_cross_encoding(encoder, query: str, docs: Sequence[str], repeats: int = 3) -> dict[str, float]:
    """Seconds (fastest of ``repeats`` runs) for the encoder passes each point of the spectrum needs per query.

    Measures one pass over ``query`` alone (what a pooled or a late-interaction search runs when a
    query comes), one over each ``[CLS] query [SEP] document [SEP]`` concatenation (what a
    cross-encoder runs per query, one per document; cut to the encoder's document length), and, to
    compare, one over each document alone (what the other two ran once, offline). Only the
    transformer runs: there is no trained cross-encoder head here, so this measures cost, not quality.
    Timed on one thread (torch's setting is restored afterwards), so that the figures compare the
    passes, not how threads were scheduled; the short query pass is timed 10 times as often, since
    one interruption by another process would weigh on it most.

    Returns:
        ``{"query alone": s, "query + each document": s, "each document alone": s,
        "x query alone": (query + each document) / (query alone)}``.
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError("query must be one non-empty string")
    if isinstance(docs, str) or len(docs) == 0:
        raise ValueError("docs must be a non-empty list of strings")
    tok, limit = encoder.tokenizer, encoder.format.doc_length
    alone = encoder.tokenize([query], is_query=True)
    pairs = tok([query] * len(docs), list(docs), truncation="only_second", max_length=limit, padding=True,
                return_tensors="pt")
    singles = encoder.tokenize(list(docs), is_query=False)

    def run(batch) -> None:
        encoder.token_states(batch["input_ids"], batch["attention_mask"])

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t_query, _ = best_of(lambda: run(alone), 10 * repeats)
        t_pairs, _ = best_of(lambda: run(pairs), repeats)
        t_docs, _ = best_of(lambda: run(singles), repeats)
    finally:
        torch.set_num_threads(threads)
    return {"query alone": t_query, "query + each document": t_pairs, "each document alone": t_docs,
            "x query alone": t_pairs / t_query}


# ------------------------------------------------------------------- where MaxSim's score comes from


def match_kind(query_token: str, doc_token: str, similarity: float, near: float = 0.9) -> str:
    """How a query token found its best document token: one of :data:`MATCH_KINDS`.

    ``"special"``: the query token is [CLS], [SEP], [Q] or [D]; ``"exact"``: the document token is
    the same word piece; ``"near"``: a different piece with ``similarity >= near``; ``"other"``:
    anything else.
    """
    if query_token is None or doc_token is None:
        raise ValueError("match_kind needs token strings: explain() the pair with query_tokens and doc_tokens")
    if query_token in SPECIAL_TOKENS:
        return "special"
    if query_token == doc_token:
        return "exact"
    return "near" if similarity >= near else "other"


def score_mass(matches: Sequence[Match], near: float = 0.9) -> dict[str, float]:
    """The share of one MaxSim score each kind of match (:func:`match_kind`) contributes.

    Args:
        matches: :func:`lateint.similarity.explain` rows for one query and one document, with token strings.
        near: the cosine from which a match of two different pieces counts as near-exact.

    Returns:
        ``{kind: share}`` for every kind of :data:`MATCH_KINDS`; the shares sum to 1.
    """
    if len(matches) == 0:
        raise ValueError("matches is empty: pass the explain() rows of one (query, document) pair")
    mass = dict.fromkeys(MATCH_KINDS, 0.0)
    for m in matches:
        mass[match_kind(m.query_token, m.doc_token, m.similarity, near)] += m.similarity
    total = sum(mass.values())
    if total <= 0:
        raise ValueError(f"the MaxSim score is {total:.3g}: shares of a score that is not positive mean nothing")
    return {k: v / total for k, v in mass.items()}


def _encoded(ds, encoder) -> tuple[dict, dict, list[list[str]], list[list[str]]]:
    """Pooled and token vectors (from the embedding cache, as ``retrieve_all`` computes them) and token strings."""
    docs = encode_corpus(encoder, ds.doc_texts, "documents", show_progress=False)
    queries = encode_corpus(encoder, ds.query_texts, "queries", show_progress=False)
    return docs, queries, encoder.document_tokens(ds.doc_texts), encoder.query_tokens(ds.query_texts)


def relevant_mass(ds, encoder, near: float = 0.9) -> dict[str, float]:
    """Where MaxSim's score of each relevant (query, document) pair of ``ds`` comes from, averaged.

    Returns:
        the mean over judged relevant pairs (grade > 0) of each :func:`score_mass` share (keys of
        :data:`MATCH_KINDS`), and beside them, for the same pairs, the mean ``"MaxSim/token"`` (the
        MaxSim score divided by the query's token count: an average cosine, comparable with the
        next) and the mean ``"pooled cosine"`` of the pooled vectors; ``"pairs"`` counts the pairs.
    """
    docs, queries, d_tok, q_tok = _encoded(ds, encoder)
    d_pos = {d: i for i, d in enumerate(ds.doc_ids)}
    sums = dict.fromkeys((*MATCH_KINDS, "MaxSim/token", "pooled cosine"), 0.0)
    pairs = 0
    for qi, qid in enumerate(ds.query_ids):
        for did, grade in ds.qrels.get(qid, {}).items():
            if grade <= 0 or did not in d_pos:
                continue
            di = d_pos[did]
            matches = explain(queries["tokens"][qi], docs["tokens"][di], q_tok[qi], d_tok[di])
            for kind, share in score_mass(matches, near).items():
                sums[kind] += share
            sums["MaxSim/token"] += sum(m.similarity for m in matches) / len(matches)
            sums["pooled cosine"] += float(queries["pooled"][qi] @ docs["pooled"][di])
            pairs += 1
    if pairs == 0:
        raise ValueError(f"{ds!r} has no judged relevant (query, document) pair among its documents")
    return {**{k: v / pairs for k, v in sums.items()}, "pairs": pairs}


def _id_tensors(token_lists: Sequence[Sequence[str]], vocab: dict[str, int]) -> list[torch.Tensor]:
    return [torch.tensor([vocab.setdefault(t, len(vocab)) for t in toks]) for toks in token_lists]


def matched_maxsim_scores(
    queries: Sequence[torch.Tensor],
    query_tokens: Sequence[Sequence[str]],
    docs: Sequence[torch.Tensor],
    doc_tokens: Sequence[Sequence[str]],
    keep: str = "exact",
) -> torch.Tensor:
    """MaxSim with each query token's choice of document tokens restricted.

    ``keep="exact"``: a query token may only match document tokens that are the same word piece
    (a token whose piece is not in the document adds 0); ``keep="inexact"``: only tokens that are a
    *different* piece (a document made only of that piece adds 0); ``keep="all"``: plain MaxSim.

    Args:
        queries: ``nq`` query token matrices ``(Lq_i, dim)``; query_tokens: their token strings.
        docs: ``nd`` document token matrices ``(Ld_j, dim)``; doc_tokens: their token strings.

    Returns:
        Scores ``(nq, nd)``, float32.
    """
    return _matched(queries, query_tokens, docs, doc_tokens, (keep,))[keep]


def _matched(queries, query_tokens, docs, doc_tokens, keeps: Sequence[str]) -> dict[str, torch.Tensor]:
    """:func:`matched_maxsim_scores` for each rule of ``keeps``, from one similarity matrix per query."""
    for keep in keeps:
        if keep not in ("exact", "inexact", "all"):
            raise ValueError(f"keep must be 'exact', 'inexact' or 'all', got {keep!r}")
    for name, vecs, toks in (("queries", queries, query_tokens), ("docs", docs, doc_tokens)):
        if len(vecs) == 0 or len(vecs) != len(toks):
            raise ValueError(f"{name} needs one token-string list per matrix, at least one: got {len(vecs)} "
                             f"matrices and {len(toks)} lists")
        for i, (v, t) in enumerate(zip(vecs, toks)):
            check_tokens(v, f"{name}[{i}]")
            if len(t) != v.shape[0]:
                raise ValueError(f"{name}[{i}] has {v.shape[0]} vectors but {len(t)} token strings; they must align")
    check_same_dim(queries[0], docs[0])
    vocab: dict[str, int] = {}
    q_ids, d_ids = _id_tensors(query_tokens, vocab), _id_tensors(doc_tokens, vocab)
    width = max(v.shape[0] for v in docs)
    D = torch.zeros(len(docs), width, docs[0].shape[1], dtype=torch.float32)
    ids = torch.full((len(docs), width), -1)  # -1: padding, never a real piece
    for j, (v, t) in enumerate(zip(docs, d_ids)):
        D[j, : v.shape[0]], ids[j, : v.shape[0]] = v.float(), t
    real = ids[:, None, :] >= 0  # (nd, 1, Ld)
    out = {keep: torch.empty(len(queries), len(docs), dtype=torch.float32) for keep in keeps}
    for i, (q, qi) in enumerate(zip(queries, q_ids)):
        check_same_dim(q, D)
        sim = torch.einsum("id,njd->nij", q.float(), D)  # (nd, Lq, Ld)
        same = qi[None, :, None] == ids[:, None, :]  # (nd, Lq, Ld): the same word piece
        for keep in keeps:
            allowed = {"exact": same, "inexact": ~same & real, "all": real}[keep]
            best = sim.masked_fill(~allowed, float("-inf")).max(dim=-1).values  # (nd, Lq)
            out[keep][i] = best.masked_fill(torch.isinf(best), 0.0).sum(dim=-1)
    return out


def exact_match_ablation(ds, encoder, metric: str = "ndcg@10") -> dict[str, float]:
    """``metric`` on ``ds`` of pooled cosine, MaxSim, MaxSim on exact matches only (``"MaxSim exact
    only"``) and MaxSim with exact matches removed (``"MaxSim without exact"``; see
    :func:`matched_maxsim_scores`), all from the same encoder pass."""
    docs, queries, d_tok, q_tok = _encoded(ds, encoder)
    scores = {
        "pooled": PooledIndex(ds.doc_ids, docs["pooled"]).scores(queries["pooled"]),
        "MaxSim": MaxSimIndex(ds.doc_ids, docs["tokens"]).scores(queries["tokens"]),
    }
    matched = _matched(queries["tokens"], q_tok, docs["tokens"], d_tok, ("exact", "inexact"))
    scores["MaxSim exact only"], scores["MaxSim without exact"] = matched["exact"], matched["inexact"]
    key = metric_name(metric)
    return {name: evaluate_scores(s, ds, key)[key] for name, s in scores.items()}
