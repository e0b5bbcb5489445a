"""Automatic checks for the exercise notebooks (``notebooks/exercises/``).

Each exercise asks the learner to write one key piece of the course (MaxSim, mean
pooling, nDCG@10...) and ends with a check cell::

    from lateint import checks
    checks.check_maxsim(my_maxsim)

A check

1. builds hidden inputs itself, from a fixed seed: random tensors plus the edge cases
   where typical mistakes show (one token, heavy padding, negative similarities,
   graded judgements...);
2. runs the learner's function on copies of them and compares each answer with the
   library's own function (``lateint.maxsim.maxsim``, ``lateint.pooling.mean_pool``,
   ``lateint.evaluate.ndcg_at_k``, ``lateint.compress.nbytes``...), not with a second
   implementation. One task has no library counterpart, so its reference lives in
   :func:`check_token_pooling`: adjacent token pooling (the library's
   ``lateint.compress.pool_tokens`` clusters similar tokens instead);
3. when an answer is wrong, raises :class:`CheckFailed` (an ``AssertionError``, so the
   cell stops) whose message says in plain words what is wrong: the wrong shape,
   padding counted, not normalised, off by a factor, the max taken over the wrong
   axis... It recognises a mistake by computing what that mistake would have given
   on the same input (the ``mistakes`` of each hidden case);
4. when every answer is right, prints one line saying what was checked.

A function left as the exercise's ``...`` placeholder returns ``None``; the check then
says so, which is the error the unanswered exercise notebooks show (nbval expects it).
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..compress import nbytes
from ..evaluate import ndcg_at_k, ranked_doc_ids, recall_at_k
from ..maxsim import cosine_scores, explain, maxsim, maxsim_scores, pad
from ..pooling import mean_pool
from .expect import ExpectationFailed, expect

__all__ = [
    "CheckFailed",
    "ExpectationFailed",
    "expect",
    "check_best_matches",
    "check_cosine_scores",
    "check_embed_pooled",
    "check_encode_queries_batched",
    "check_largest_losses",
    "check_maxsim",
    "check_maxsim_batched",
    "check_mean_pool",
    "check_ndcg_at_10",
    "check_needle_curve",
    "check_normalized_scores",
    "check_pieces_per_word",
    "check_recall_at_k",
    "check_rerank",
    "check_rrf",
    "check_storage_bytes",
    "check_token_pooling",
]

SEED = 1234  # every hidden input is drawn from generators seeded from this


class CheckFailed(AssertionError):
    """A check found a wrong answer. The message says what is wrong and on which input."""


@dataclass
class Case:
    """One hidden input: the arguments, the reference answer, and what known mistakes give.

    ``mistakes`` maps a plain-words diagnosis to the answer that mistake produces on
    these arguments; an answer equal to one of them is reported with that diagnosis.
    """

    name: str
    args: tuple
    expected: Any
    mistakes: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------- the harness


def _run(check: str, fn: Callable, cases: Sequence[Case], compare: Callable[[str, Any, Case], None], done: str) -> None:
    """Call ``fn`` on every case, compare each answer, print the verdict or raise CheckFailed."""
    if not callable(fn):
        raise CheckFailed(
            f"{check} needs your function itself, e.g. {check}(my_function), "
            f"not {type(fn).__name__} (did you call it and pass its result?)."
        )
    for case in cases:
        args = tuple(a.clone() if isinstance(a, torch.Tensor) else copy.deepcopy(a) for a in case.args)
        try:
            got = fn(*args)
        except CheckFailed:
            raise
        except Exception as e:
            raise CheckFailed(
                f"{check}: your function raised {type(e).__name__}: {e}\n"
                f"It happened on the hidden case: {case.name}. The traceback above shows the line."
            ) from e
        if got is None or got is Ellipsis:
            raise CheckFailed(
                f"{check}: your function returned {got!r}. "
                "Replace the `...` with your code and finish with `return <your answer>`."
            )
        compare(check, got, case)
    print(f"✓ {check}: correct on all {len(cases)} hidden cases ({done}).")


def _fail(check: str, case: Case, what: str) -> CheckFailed:
    return CheckFailed(f"{check}: {what}\nHidden case: {case.name}.")


def _judge(
    check: str, case: Case, got: Any, same: Callable[[Any, Any], bool], describe: Callable[[Any, Any], str]
) -> None:
    """Pass if ``got`` is the expected answer; else name the known mistake it equals, or describe the difference."""
    if same(got, case.expected):
        return
    for diagnosis, wrong in case.mistakes.items():
        if same(got, wrong):
            raise _fail(check, case, diagnosis)
    raise _fail(check, case, describe(got, case.expected))


def _close(a: Any, b: Any, tol: float = 1e-4) -> bool:
    if isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a, b.float(), atol=tol, rtol=tol)
    if isinstance(b, (int, float)):
        return isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    return a == b


def _as_number(check: str, got: Any, case: Case) -> float:
    """A scalar answer as a float: a Python number, a numpy scalar or a one-element tensor."""
    if isinstance(got, torch.Tensor):
        if got.numel() != 1:
            raise _fail(
                check,
                case,
                f"expected ONE number, got a tensor of shape {tuple(got.shape)}"
                + (" (one value per query token? add them up)" if got.dim() == 1 else "")
                + ".",
            )
        return float(got.item())
    try:
        return float(got)
    except (TypeError, ValueError):
        raise _fail(check, case, f"expected a number, got a {type(got).__name__}: {got!r}.") from None


def _as_tensor(check: str, got: Any, case: Case, axes: str) -> torch.Tensor:
    """An answer as a float tensor, with a plain-words error when it is a list or the wrong shape."""
    if not isinstance(got, torch.Tensor):
        try:
            got = torch.as_tensor(got)
        except (TypeError, ValueError, RuntimeError):
            raise _fail(
                check,
                case,
                f"expected ONE tensor of shape {axes}, got a {type(got).__name__}. "
                "If you built a list of tensors, combine it with torch.stack(...).",
            ) from None
    expected = case.expected
    if got.shape != expected.shape:
        for diagnosis, wrong in case.mistakes.items():  # some mistakes change the shape
            if isinstance(wrong, torch.Tensor) and _close(got.float(), wrong):
                raise _fail(check, case, diagnosis)
        if got.dim() == 2 and got.shape == expected.T.shape and got.shape[0] != got.shape[1]:
            raise _fail(
                check,
                case,
                f"the answer is transposed: shape {tuple(got.shape)}, expected {axes} = {tuple(expected.shape)}.",
            )
        raise _fail(check, case, f"wrong shape: got {tuple(got.shape)}, expected {axes} = {tuple(expected.shape)}.")
    if not torch.is_floating_point(got):
        raise _fail(check, case, f"the answer has dtype {got.dtype}; expected floating-point numbers.")
    return got.detach().float().cpu()


def _compare_tensor(axes: str, unit_rows: bool = False) -> Callable[[str, Any, Case], None]:
    """A compare function for tensor answers whose axes are described by ``axes``."""

    def compare(check: str, got: Any, case: Case) -> None:
        got = _as_tensor(check, got, case, axes)
        expected = case.expected.float()
        if torch.isnan(got).any():
            raise _fail(check, case, "the answer contains NaN (a 0/0, or 0 * inf where padding was masked with -inf?).")
        if unit_rows and not _close(got, expected) and _close(torch.nn.functional.normalize(got, dim=-1), expected):
            raise _fail(
                check, case, "right direction, but the vectors are not L2-normalised (each row should have length 1)."
            )
        _judge(check, case, got, _close, _difference)

    return compare


def _compare_number(check: str, got: Any, case: Case) -> None:
    value = _as_number(check, got, case)
    if math.isnan(value):
        raise _fail(check, case, "the answer is NaN (a division 0/0?).")
    _judge(check, case, value, _close, lambda a, b: f"got {a:.4f}, expected {b:.4f}.")


def _difference(got: torch.Tensor, expected: torch.Tensor) -> str:
    """Describe how two same-shape tensors differ: a constant factor, or the worst entry."""
    nonzero = expected.abs() > 1e-6
    if nonzero.any():
        ratio = got[nonzero] / expected[nonzero]
        if torch.allclose(ratio, ratio.flatten()[0].expand_as(ratio), rtol=1e-3, atol=1e-4):
            c = ratio.flatten()[0].item()
            return f"every value is off by the same factor: yours = {c:.4g} x the right answer."
    worst = (got - expected).abs().flatten().argmax().item()
    where = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), expected.shape)) if expected.dim() else ()
    at = f" at index {where}" if where and expected.numel() > 1 else ""
    return (
        f"wrong values{at}: got {got.flatten()[worst].item():.4f}, expected {expected.flatten()[worst].item():.4f} "
        f"({int((~torch.isclose(got, expected, atol=1e-4, rtol=1e-4)).sum())} of {expected.numel()} values differ)."
    )


# ------------------------------------------------------------------ hidden inputs


def _gen(offset: int) -> torch.Generator:
    return torch.Generator().manual_seed(SEED + offset)


def _unit(*shape: int, gen: torch.Generator) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.randn(*shape, generator=gen), dim=-1)


def _padded(
    lengths: Sequence[int], dim: int, gen: torch.Generator, garbage: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """A padded batch ``(n, max L, dim)`` of unit token vectors and its mask ``(n, max L)``.

    With ``garbage`` the padded positions hold unit vectors too, as a real encoder's
    output does at [PAD] positions: only the mask says they are not tokens.
    """
    batch, mask = pad([_unit(n, dim, gen=gen) for n in lengths])
    if garbage:
        filler = _unit(*batch.shape, gen=gen)
        batch = torch.where(mask.unsqueeze(-1), batch, filler)
    return batch, mask


# ======================================================= 00: cosine and nDCG@10


def check_cosine_scores(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(queries (nq, dim), docs (nd, dim)) -> (nq, nd)`` cosine similarities.

    Reference: :func:`lateint.maxsim.cosine_scores`. The hidden vectors are NOT unit
    length, so a plain dot product is caught.
    """
    gen = _gen(0)
    cases = []
    for name, nq, nd in (
        ("3 queries x 5 documents, vectors of very different lengths", 3, 5),
        ("1 query x 4 documents", 1, 4),
        ("4 queries x 4 documents (square, so a transposed answer has the right shape)", 4, 4),
    ):
        q = torch.randn(nq, 8, generator=gen) * torch.rand(nq, 1, generator=gen).mul(10).add(0.1)
        d = torch.randn(nd, 8, generator=gen) * torch.rand(nd, 1, generator=gen).mul(10).add(0.1)
        qn, dn = (torch.nn.functional.normalize(x, dim=-1) for x in (q, d))
        expected = cosine_scores(q, d)
        cases.append(
            Case(
                name,
                (q, d),
                expected,
                {
                    "these are dot products of the raw vectors, not cosines: divide each vector by its length "
                    "first (torch.nn.functional.normalize(x, dim=-1)).": q @ d.T,
                    "only the documents were normalised; normalise the queries too.": q @ dn.T,
                    "only the queries were normalised; normalise the documents too.": qn @ d.T,
                    "normalised along the wrong axis: each ROW is one vector, so normalise with dim=-1 (not dim=0).": torch.nn.functional.normalize(
                        q, dim=0
                    )
                    @ torch.nn.functional.normalize(d, dim=0).T,
                    "the answer is transposed: rows must be queries and columns documents (queries @ docs.T).": expected.T,
                },
            )
        )
    _run("check_cosine_scores", fn, cases, _compare_tensor("(n_queries, n_docs)"), "cosines, shapes, orientation")


def _ndcg_variant(
    ranked: Sequence[str],
    rels: Mapping[str, int],
    *,
    cut: int | None = 10,
    ideal_cut: int | None = 10,
    gain: Callable[[int], float] = float,
    offset: int = 1,
    ideal_from_run: bool = False,
    divide: bool = True,
) -> float:
    """nDCG computed with one of the usual slips; ``offset`` shifts the rank in log2(rank + offset)."""
    gains = [gain(max(rels.get(d, 0), 0)) for d in ranked[:cut]]
    pool = [max(rels.get(d, 0), 0) for d in ranked] if ideal_from_run else [g for g in rels.values() if g > 0]
    ideal = [gain(g) for g in sorted(pool, reverse=True)[:ideal_cut]]
    disc = lambda gs: sum(g / math.log2(r + offset) for r, g in enumerate(gs, start=1))
    if not divide:
        return disc(gains)
    return disc(gains) / disc(ideal) if disc(ideal) > 0 else 0.0


def check_ndcg_at_10(fn: Callable[[Sequence[str], Mapping[str, int]], float]) -> None:
    """Check ``fn(ranked_ids, rels) -> float``: nDCG@10 of one query.

    ``ranked_ids`` is the retrieved doc ids, best first; ``rels`` maps doc id -> grade
    (0 = judged not relevant). Reference: :func:`lateint.evaluate.ndcg_at_k` with k=10
    (gain = grade, discount log2(rank + 1), ideal = the judgements sorted by grade).
    """
    rng = torch.Generator().manual_seed(SEED + 1)
    ids = [f"doc{i}" for i in range(30)]
    shuffled = [ids[i] for i in torch.randperm(30, generator=rng).tolist()]
    grades = torch.randint(0, 3, (30,), generator=rng).tolist()
    specs = [
        ("the only relevant document is at rank 1", ids[:10], {"doc0": 1}),
        ("the only relevant document is at rank 3", ids[:10], {"doc2": 1}),
        (
            "graded judgements (2 = answers it, 1 = related) found at ranks 2, 5 and 8, in the wrong order",
            ids[:10],
            {"doc1": 1, "doc4": 2, "doc7": 2},
        ),
        ("one relevant document at rank 4 and one at rank 12, past the cut-off", ids[:15], {"doc3": 1, "doc11": 1}),
        ("12 relevant documents (more than 10), retrieved in the best order", ids[:15], {d: 1 for d in ids[:12]}),
        ("only 4 documents retrieved; one relevant document was never retrieved", ids[:4], {"doc1": 2, "doc29": 2}),
        (
            "judged documents with grade 0 (not relevant) among the relevant ones",
            ids[:10],
            {"doc0": 0, "doc1": 0, "doc2": 1, "doc5": 0, "doc6": 2},
        ),
        ("no relevant document in the judgements at all: nDCG is 0, not an error", ids[:10], {"doc0": 0}),
        ("30 retrieved documents in random order, random grades 0-2", shuffled, dict(zip(ids, grades))),
    ]
    cases = []
    for name, ranked, rels in specs:
        expected = ndcg_at_k(ranked, rels, 10)
        cases.append(
            Case(
                name,
                (ranked, rels),
                expected,
                {
                    "this is the DCG alone: divide it by the ideal DCG (the best possible ranking's DCG).": _ndcg_variant(
                        ranked, rels, divide=False
                    ),
                    "no cut-off: only the top 10 retrieved documents count towards nDCG@10.": _ndcg_variant(
                        ranked, rels, cut=None, ideal_cut=None
                    ),
                    "the ideal DCG must also stop at 10 documents (the best possible top 10).": _ndcg_variant(
                        ranked, rels, ideal_cut=None
                    ),
                    "the ideal ranking was built from the retrieved list only; build it from ALL judged relevant "
                    "documents in rels, retrieved or not.": _ndcg_variant(ranked, rels, ideal_from_run=True),
                    "the gain should be the grade itself, not 2**grade - 1 (the course, trec_eval and BEIR use the "
                    "grade).": _ndcg_variant(ranked, rels, gain=lambda g: 2**g - 1),
                    "every relevant document got gain 1; use its grade (rels[doc]) as the gain.": _ndcg_variant(
                        ranked, rels, gain=lambda g: float(g > 0)
                    ),
                    "the discount is off by one rank: rank 1 (the top) is divided by log2(1 + 1) = 1, so use "
                    "log2(rank + 1) with rank starting at 1.": _ndcg_variant(ranked, rels, offset=2),
                },
            )
        )
    _run("check_ndcg_at_10", fn, cases, _compare_number, "gains, discount, ideal ranking, cut-off, no relevant docs")


# ================================================== 01: mean pooling, embedding


def check_mean_pool(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(hidden (n, L, dim), mask (n, L) bool) -> (n, dim)``: the average of the real tokens.

    Reference: :func:`lateint.pooling.mean_pool`. The padded positions of the hidden
    batches hold vectors, as a real model's output does, so ignoring the mask shows.
    """
    gen = _gen(2)
    cases = []
    for name, lengths in (
        (
            "3 texts of 5, 2 and 7 tokens padded to 7; padded positions hold vectors, as a model's output does",
            (5, 2, 7),
        ),
        ("1 text of 6 tokens, no padding", (6,)),
        ("4 texts of 1 token each", (1, 1, 1, 1)),
        ("2 texts of 1 and 9 tokens (one almost all padding)", (1, 9)),
    ):
        hidden, mask = _padded(lengths, 6, gen)
        hidden = hidden * 3 + torch.randn(1, 1, 6, generator=gen)  # not unit length, not centred
        m = mask.unsqueeze(-1).float()
        expected = mean_pool(hidden, mask)
        cases.append(
            Case(
                name,
                (hidden, mask),
                expected,
                {
                    "padding was counted: the average ran over all L positions, padded ones included. Multiply "
                    "by the mask and divide by each text's number of real tokens.": hidden.mean(dim=1),
                    "divided by the padded length L; divide by each text's own number of real tokens "
                    "(mask.sum(dim=1)).": (hidden * m).sum(1) / hidden.shape[1],
                    "summed, not averaged: divide by the number of real tokens.": (hidden * m).sum(1),
                    "the result was L2-normalised; mean pooling returns the plain average (normalise later, "
                    "when you compare vectors).": torch.nn.functional.normalize(expected, dim=-1),
                },
            )
        )
    _run("check_mean_pool", fn, cases, _compare_tensor("(n_texts, dim)"), "padding ignored, per-text lengths")


@functools.cache
def _default_encoder():
    from .encoders import load_encoder

    return load_encoder()


# Hidden texts for the encoder checks: very different lengths in one batch.
_TEXTS = [
    "Tea.",
    "The ferry to the island leaves at dawn, and the crossing takes about two hours when the sea is calm.",
    "Owls hunt at night.",
    (
        "A good bicycle lock is heavy, but a stolen bicycle weighs nothing at all, as the old saying in the "
        "town goes; most riders carry two locks, one for the frame and one for the front wheel, and park "
        "under a streetlight whenever they can."
    ),
]


def _raw_hidden(encoder, texts: Sequence[str], is_query: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The encoder's last hidden states for ``texts`` in ONE padded batch, and the attention mask."""
    enc = encoder.tokenize(list(texts), is_query)
    with torch.inference_mode():
        hidden = encoder._forward(enc["input_ids"], enc["attention_mask"])
    return hidden.float(), enc["attention_mask"].bool()


def check_embed_pooled(fn: Callable[[Sequence[str]], torch.Tensor], encoder=None) -> None:
    """Check ``fn(texts) -> (n, dim)``: one unit-length mean-pooled vector per text.

    Reference: ``encoder.encode_pooled(texts)`` (default encoder: the course's
    all-MiniLM-L6-v2). The hidden batches mix a one-word text with long ones, so a
    pooling that counts padding gives the short texts the wrong vectors.
    """
    cases = _embed_pooled_cases(encoder or _default_encoder())
    _run("check_embed_pooled", fn, cases, _compare_tensor("(n_texts, dim)", unit_rows=True), "masked mean, normalised")


@functools.lru_cache(maxsize=4)
def _embed_pooled_cases(encoder) -> list[Case]:
    cases = []
    for name, texts in (
        ("4 texts of very different lengths in one batch (1 to 50 words)", _TEXTS),
        ("a single text (no padding at all)", _TEXTS[1:2]),
        ("2 short texts", [_TEXTS[0], _TEXTS[2]]),
    ):
        hidden, mask = _raw_hidden(encoder, texts, is_query=False)
        normalize = functools.partial(torch.nn.functional.normalize, dim=-1)
        expected = encoder.encode_pooled(texts)
        cases.append(
            Case(
                name,
                (list(texts),),
                expected,
                {
                    "padding was counted: each text was averaged over the whole padded batch length, so a short "
                    "text's vector depends on its longest neighbour. Use the attention mask in the average.": normalize(
                        hidden.mean(dim=1)
                    ),
                    "this is the first ([CLS]) token's vector; this model's sentence vector is the MEAN of the real "
                    "tokens.": normalize(hidden[:, 0]),
                    "right average, but the vectors are not L2-normalised (each row should have length 1).": mean_pool(
                        hidden, mask
                    ),
                    "the token vectors were normalised before averaging; average the raw vectors, then normalise "
                    "the result.": normalize(mean_pool(normalize(hidden), mask)),
                },
            )
        )
    return cases


_NEEDLE = "The spare key to the boathouse hangs behind the tide table in the harbour office."
_NEEDLE_QUERY = "Where is the spare boathouse key kept?"


def check_needle_curve(fn: Callable[[str, str, Sequence[int]], torch.Tensor], encoder=None) -> None:
    """Check ``fn(needle, query, n_fillers) -> (len(n_fillers), 2)``: the needle-in-a-haystack curve.

    Row ``i`` is for the document ``lateint.demo.needle_haystack(needle, n_filler=n_fillers[i])``
    (its default seed and position): column 0 the cosine of the pooled query and document
    vectors (``encoder.encode_pooled``), column 1 the MaxSim of their token vectors
    (``encode_queries`` / ``encode_documents``) divided by the number of query tokens, so
    both are similarities in [-1, 1].
    """
    case = _needle_case(encoder or _default_encoder())
    _run("check_needle_curve", fn, [case], _compare_tensor("(len(n_fillers), 2)"), "pooled cosine and MaxSim per size")


@functools.lru_cache(maxsize=4)
def _needle_case(encoder) -> Case:
    from .demo import needle_haystack

    sizes = [0, 3, 8]
    docs = [needle_haystack(_NEEDLE, n_filler=n) for n in sizes]
    q_tok = encoder.encode_queries([_NEEDLE_QUERY])[0]
    d_tok = encoder.encode_documents(docs)
    raw_q, raw_d = encoder.encode_pooled([_NEEDLE_QUERY], normalize=False), encoder.encode_pooled(docs, normalize=False)
    pooled, raw = cosine_scores(raw_q, raw_d)[0], raw_q @ raw_d.T
    sums = torch.tensor([maxsim(q_tok, d) for d in d_tok])
    expected = torch.stack([pooled, sums / len(q_tok)], dim=1)
    return Case(
        f"needle {_NEEDLE!r}, query {_NEEDLE_QUERY!r}, haystacks of {sizes} filler sentences",
        (_NEEDLE, _NEEDLE_QUERY, sizes),
        expected,
        {
            "the columns are swapped: column 0 is the pooled cosine, column 1 the MaxSim per query token.": expected[
                :, [1, 0]
            ],
            "column 1 is the raw MaxSim sum; divide it by the number of query tokens to get a similarity in "
            "[-1, 1].": torch.stack([pooled, sums], dim=1),
            "column 0 uses dot products of unnormalised pooled vectors; use cosines (encode_pooled normalises by "
            "default).": torch.stack([raw[0], sums / len(q_tok)], dim=1),
            "every row is the same: build a new haystack for each size, needle_haystack(needle, n_filler=n).": expected[
                :1
            ].expand_as(expected),
        },
    )


# ======================================================== 02: MaxSim by hand


def check_maxsim(fn: Callable[[torch.Tensor, torch.Tensor], float]) -> None:
    """Check ``fn(q (Lq, dim), d (Ld, dim)) -> number``: MaxSim of one query and one document.

    Reference: :func:`lateint.maxsim.maxsim` (for each query token its best dot
    product with any document token, summed over query tokens).
    """
    gen = _gen(3)
    q_hand = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    d_hand = torch.tensor([[0.6, 0.8], [1.0, 0.0], [0.0, -1.0]])
    q_neg = _unit(3, 8, gen=gen)
    specs = [
        (
            "worked by hand: q = [[1,0],[0,1]], d = [[0.6,0.8],[1,0],[0,-1]] -> best matches 1.0 and 0.8, MaxSim 1.8",
            q_hand,
            d_hand,
        ),
        ("5 query tokens, 9 document tokens, random unit vectors", _unit(5, 16, gen=gen), _unit(9, 16, gen=gen)),
        ("1 query token", _unit(1, 16, gen=gen), _unit(7, 16, gen=gen)),
        ("1 document token", _unit(4, 16, gen=gen), _unit(1, 16, gen=gen)),
        ("more query tokens (8) than document tokens (3)", _unit(8, 16, gen=gen), _unit(3, 16, gen=gen)),
        (
            "every similarity is negative (the document points away from the query)",
            q_neg,
            -(q_neg[[0, 1, 2, 0]] + 0.1 * torch.randn(4, 8, generator=gen)),
        ),
        (
            "vectors that are not unit length: MaxSim uses the plain dot products",
            torch.randn(4, 16, generator=gen) * 2,
            torch.randn(6, 16, generator=gen) * 3,
        ),
    ]
    cases = []
    for name, q, d in specs:
        sim = q @ d.T
        nq, nd = (torch.nn.functional.normalize(x, dim=-1) for x in (q, d))
        cases.append(
            Case(
                name,
                (q, d),
                maxsim(q, d),
                {
                    "the max was taken over the wrong axis: for each DOCUMENT token you took its best query token. "
                    "MaxSim goes the other way: each QUERY token picks its best document token "
                    "((q @ d.T).max(dim=1)), then you sum.": sim.max(dim=0).values.sum().item(),
                    "the best matches were averaged; MaxSim adds them up (sum over query tokens).": sim.max(dim=1)
                    .values.mean()
                    .item(),
                    "all similarities were added up; keep only each query token's BEST match, then sum those.": sim.sum().item(),
                    "only the single best pair was kept; every query token contributes its own best match.": sim.max().item(),
                    "the vectors were normalised (cosine); MaxSim uses the plain dot product of the vectors it is "
                    "given (the encoder normalises them when it should).": maxsim(nq, nd),
                },
            )
        )
    _run("check_maxsim", fn, cases, _compare_number, "axis, sum, negative similarities, single tokens")


def check_maxsim_batched(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> None:
    """Check ``fn(Q (nq, Lq, dim), D (nd, Ld, dim), q_mask (nq, Lq), d_mask (nd, Ld)) -> (nq, nd)``.

    Reference: :func:`lateint.maxsim.maxsim_scores`: every query against every
    document, padded positions ignored on both sides. Padded positions in the hidden
    batches hold vectors (as a model's output does), except in the case padded with
    zeros as :func:`lateint.maxsim.pad` does, where all real similarities are negative.
    """
    gen = _gen(4)
    cases = []
    specs = [
        (
            "3 queries (2, 5, 1 tokens) x 4 documents (6, 2, 9, 4 tokens); padded positions hold vectors",
            (2, 5, 1),
            (6, 2, 9, 4),
            True,
        ),
        ("1 query x 1 document, no padding", (4,), (7,), True),
        ("3 queries x 3 documents (square, so a transposed answer has the right shape)", (3, 1, 6), (5, 8, 2), True),
    ]
    for name, q_lens, d_lens, garbage in specs:
        Q, qm = _padded(q_lens, 12, gen, garbage)
        D, dm = _padded(d_lens, 12, gen, garbage)
        cases.append(_batched_case(name, Q, D, qm, dm))
    # Zero padding, all real similarities negative: a zero "similarity" at a padded position must not win.
    axis = torch.zeros(12)
    axis[0] = 3.0  # queries lean along +axis, documents along -axis: every real q . d < 0
    Q, qm = pad([_unit(3, 12, gen=gen) * 0.3 + axis, _unit(1, 12, gen=gen) * 0.3 + axis])
    D, dm = pad([_unit(2, 12, gen=gen) * 0.3 - axis, _unit(4, 12, gen=gen) * 0.3 - axis], length=7)
    Q, D = torch.nn.functional.normalize(Q, dim=-1), torch.nn.functional.normalize(D, dim=-1)
    cases.append(
        _batched_case(
            "documents pointing away from the queries (every real similarity < 0), padded with zeros like lateint.pad",
            Q,
            D,
            qm,
            dm,
        )
    )
    _run(
        "check_maxsim_batched",
        fn,
        cases,
        _compare_tensor("(n_queries, n_docs)"),
        "query and document padding masked, -inf before the max, sums",
    )


def _batched_case(name: str, Q, D, qm, dm) -> Case:
    expected = maxsim_scores(Q, D, qm, dm)
    lengths = qm.sum(dim=1, keepdim=True).float()
    zeroed = D * dm.unsqueeze(-1)
    return Case(
        name,
        (Q, D, qm, dm),
        expected,
        {
            "document padding was not masked: a padded document position can win a query token's max. Set "
            "padded positions to -inf before the max (masked_fill(~d_mask, float('-inf'))).": maxsim_scores(
                Q, D, qm, None
            ),
            "query padding was counted: every padded query position adds its best match, so short queries "
            "(more padding) score higher. Zero those positions out after the max, before the sum.": maxsim_scores(
                Q, D, None, dm
            ),
            "neither mask was applied: padded query positions add to the sum and padded document positions win "
            "maxes.": maxsim_scores(Q, D),
            "padded document positions were given similarity 0 (masked by multiplying) instead of -inf: when all "
            "real similarities are negative, the 0 wins the max.": maxsim_scores(Q, zeroed, qm, None),
            "the scores were divided by each query's number of tokens; MaxSim is the SUM of the best matches.": expected
            / lengths,
            "the scores were divided by the padded query length; MaxSim is the SUM of the best matches.": expected
            / Q.shape[1],
            "the answer is transposed: rows must be queries, columns documents.": expected.T,
        },
    )


def check_best_matches(fn: Callable[[torch.Tensor, torch.Tensor], Sequence[tuple[int, float]]]) -> None:
    """Check ``fn(q (Lq, dim), d (Ld, dim)) -> [(doc_position, similarity), ...]``, one pair per query token.

    Reference: :func:`lateint.maxsim.explain` (its ``doc_position`` and ``similarity``).
    """
    gen = _gen(5)
    cases = []
    for name, lq, ld in (
        ("4 query tokens, 10 document tokens", 4, 10),
        ("1 query token, 3 document tokens", 1, 3),
        ("6 query tokens, 2 document tokens (several query tokens pick the same one)", 6, 2),
    ):
        q, d = _unit(lq, 8, gen=gen), _unit(ld, 8, gen=gen)
        sim = q @ d.T
        expected = [(m.doc_position, m.similarity) for m in explain(q, d)]
        wrong_axis = sim.max(dim=0)
        cases.append(
            Case(
                name,
                (q, d),
                expected,
                {
                    "for each DOCUMENT token you found its best query token; the rows must follow the QUERY tokens: "
                    "for query token i, the document position j maximising q[i] . d[j].": list(
                        zip(wrong_axis.indices.tolist(), wrong_axis.values.tolist())
                    ),
                    "these are the worst matches (min), not the best (max).": list(
                        zip(sim.min(dim=1).indices.tolist(), sim.min(dim=1).values.tolist())
                    ),
                },
            )
        )
    _run("check_best_matches", fn, cases, _compare_pairs, "one (doc position, similarity) per query token")


def _compare_pairs(check: str, got: Any, case: Case) -> None:
    """Compare a list of ``(int, float)`` pairs, e.g. best matches."""
    try:
        pairs = [(int(j), float(s)) for j, s in got]
    except (TypeError, ValueError):
        raise _fail(check, case, f"expected a list of (doc_position, similarity) pairs, got {got!r:.120}.") from None

    def same(a, b):
        return len(a) == len(b) and all(i == j and math.isclose(s, t, abs_tol=1e-4) for (i, s), (j, t) in zip(a, b))

    def describe(got, expected):
        if len(got) != len(expected):
            return f"expected {len(expected)} pairs (one per query token), got {len(got)}."
        bad = next(i for i, (a, b) in enumerate(zip(got, expected)) if not same([a], [b]))
        return (
            f"query token {bad}: got {got[bad]}, expected {expected[bad]} "
            "(the document position with the highest dot product, and that dot product)."
        )

    _judge(check, case, pairs, same, describe)


# ===================================================== 03: ColBERT in practice


_QUERIES = ["Owls?", "Which lock stops a bicycle thief in town at night?", "When does the island ferry leave?"]


def check_encode_queries_batched(fn: Callable[[Sequence[str]], Sequence[torch.Tensor]], encoder=None) -> None:
    """Check ``fn(texts) -> list of (L_i, dim)`` token vectors, encoded in ONE padded batch.

    Reference: ``encoder.encode_queries(texts)`` (default encoder: the course's
    all-MiniLM-L6-v2), which keeps only each query's real tokens. The hidden batch
    mixes a one-word query with long ones, so keeping the padded positions shows.
    """
    encoder = encoder or _default_encoder()
    cases = []
    for name, texts in (
        ("3 queries of 1 to 11 words in one batch", _QUERIES),
        ("1 query (no padding)", _QUERIES[2:]),
    ):
        hidden, mask = _raw_hidden(encoder, texts, is_query=True)
        unit = torch.nn.functional.normalize(hidden, dim=-1)
        cases.append(
            Case(
                name,
                (list(texts),),
                encoder.encode_queries(texts),
                {
                    "the padded positions were kept: each query must keep only its real tokens (where the "
                    "attention mask is 1). Kept padding adds its best matches to every score, so short queries "
                    "score higher.": list(unit),
                    "the token vectors are not L2-normalised (each row should have length 1).": [
                        h[m] for h, m in zip(hidden, mask)
                    ],
                },
            )
        )
    _run(
        "check_encode_queries_batched",
        fn,
        cases,
        _compare_tensor_list,
        "real tokens only, unit length, one matrix per query",
    )


def _compare_tensor_list(check: str, got: Any, case: Case) -> None:
    """Compare a list of ``(L_i, dim)`` tensors, one per text."""
    if isinstance(got, torch.Tensor) and got.dim() == 3:
        got = list(got)
    if not isinstance(got, (list, tuple)) or not all(isinstance(g, torch.Tensor) for g in got):
        raise _fail(check, case, f"expected a list of (tokens, dim) tensors, one per text, got a {type(got).__name__}.")

    def same(a, b):
        return len(a) == len(b) and all(_close(x.float(), y) for x, y in zip(a, b))

    def describe(got, expected):
        if len(got) != len(expected):
            return f"expected {len(expected)} tensors (one per text), got {len(got)}."
        for i, (g, e) in enumerate(zip(got, expected)):
            if g.shape != e.shape:
                return f"text {i}: shape {tuple(g.shape)}, expected {tuple(e.shape)} (its number of real tokens x dim)."
        return "right shapes, wrong values: " + _difference(torch.cat([g.float() for g in got]), torch.cat(expected))

    _judge(check, case, got, same, describe)


def check_rerank(fn: Callable[[torch.Tensor, Mapping[str, torch.Tensor]], Sequence[str]]) -> None:
    """Check ``fn(q (Lq, dim), candidates {doc_id: (Ld, dim)}) -> doc ids``, best MaxSim first.

    Reference: the candidates sorted by :func:`lateint.maxsim.maxsim`, ties broken like
    :func:`lateint.evaluate.ranked_doc_ids`.
    """
    gen = _gen(6)
    cases = []
    for name, n, lq in (
        ("8 candidates, a 4-token query", 8, 4),
        ("3 candidates, a 1-token query", 3, 1),
        ("12 candidates of 1 to 20 tokens, a 6-token query", 12, 6),
    ):
        q = _unit(lq, 8, gen=gen)
        lengths = torch.randint(1, 21, (n,), generator=gen).tolist()
        cands = {f"cand-{i:02d}": _unit(L, 8, gen=gen) for i, L in enumerate(lengths)}
        scores = {did: maxsim(q, d) for did, d in cands.items()}
        pooled = {
            did: float(cosine_scores(q.mean(0, keepdim=True), d.mean(0, keepdim=True))) for did, d in cands.items()
        }
        expected = ranked_doc_ids(scores)
        cases.append(
            Case(
                name,
                (q, cands),
                expected,
                {
                    "the order is reversed: best (highest MaxSim) first.": expected[::-1],
                    "this is the pooled ranking (cosine of mean vectors); rerank by MaxSim of the token "
                    "vectors.": ranked_doc_ids(pooled),
                    "these are the candidates in their input order; sort them by MaxSim score.": list(cands),
                },
            )
        )
    _run("check_rerank", fn, cases, _compare_ids, "MaxSim order, best first")


def _compare_ids(check: str, got: Any, case: Case) -> None:
    if isinstance(got, (str, bytes)) or not isinstance(got, Sequence):
        raise _fail(check, case, f"expected a list of doc ids, best first, got a {type(got).__name__}.")
    got = [g[0] if isinstance(g, tuple) else g for g in got]  # (doc_id, score) pairs are fine too

    def describe(got, expected):
        if sorted(map(str, got)) != sorted(expected):
            return f"wrong ids: expected these {len(expected)}, in this order: {expected}; got {len(got)}: {got}."
        bad = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
        return f"wrong order from position {bad + 1}: got {got[bad]!r}, expected {expected[bad]!r}."

    _judge(check, case, got, lambda a, b: a == b, describe)


# ====================================================== 04: out of domain


def check_recall_at_k(fn: Callable[[Sequence[str], Mapping[str, int], int], float]) -> None:
    """Check ``fn(ranked_ids, rels, k) -> float``: the fraction of the relevant documents in the top k.

    Reference: :func:`lateint.evaluate.recall_at_k` (relevant = grade >= 1).
    """
    ids = [f"doc{i}" for i in range(20)]
    specs = [
        ("2 relevant documents, both in the top 10", ids[:10], {"doc1": 1, "doc6": 2}, 10),
        ("3 relevant documents, one in the top 5, k = 5", ids[:10], {"doc0": 1, "doc7": 1, "doc9": 1}, 5),
        (
            "judged documents with grade 0 (not relevant) are retrieved",
            ids[:10],
            {"doc0": 0, "doc1": 0, "doc2": 1, "doc15": 1},
            10,
        ),
        ("12 relevant documents, k = 10: at most 10 of them fit", ids, {d: 1 for d in ids[:12]}, 10),
        ("a relevant document at rank 15, past k = 10", ids, {"doc3": 1, "doc14": 1}, 10),
        ("no relevant document in the judgements: recall is 0, not an error", ids[:10], {"doc0": 0}, 10),
    ]
    cases = []
    for name, ranked, rels, k in specs:
        relevant = [d for d, g in rels.items() if g > 0]
        judged = list(rels)
        found = len(set(relevant) & set(ranked[:k]))
        cases.append(
            Case(
                name,
                (ranked, rels, k),
                recall_at_k(ranked, rels, k),
                {
                    "this is precision@k (divided by k); recall divides by the number of relevant documents.": found
                    / k,
                    "divided by min(k, number relevant): that is 'capped recall' (BEIR's R_cap), not recall.": found
                    / max(1, min(k, len(relevant))),
                    "judged documents with grade 0 were counted as relevant; relevant means grade >= 1.": len(
                        set(judged) & set(ranked[:k])
                    )
                    / max(1, len(judged)),
                    "no cut-off: only the top k documents count.": len(set(relevant) & set(ranked))
                    / max(1, len(relevant)),
                },
            )
        )
    _run("check_recall_at_k", fn, cases, _compare_number, "cut-off, grades, denominator")


def check_rrf(fn: Callable[[Sequence[Mapping[str, Mapping[str, float]]]], Mapping[str, Mapping[str, float]]]) -> None:
    """Check ``fn(runs) -> run``: reciprocal rank fusion with k = 60.

    ``runs`` is a list of runs ``{query id: {doc id: score}}``; the fused score of a
    document is ``sum over runs of 1 / (60 + rank)``, rank 1 = best. Reference:
    :func:`lateint.hybrid.rrf`.
    """
    from .hybrid import rrf

    gen = _gen(7)
    docs = [f"d{i}" for i in range(12)]
    cases = []
    for name, n_runs, depth in (
        ("2 runs of 8 documents for 2 queries, partly overlapping", 2, 8),
        ("3 runs: BM25-like scores (0-30) and cosines (0-1) on different scales", 3, 10),
        ("1 run: fusion keeps its order", 1, 6),
    ):
        runs = []
        for r in range(n_runs):
            scale = 30.0 if r == 0 else 1.0
            run = {}
            for qid in ("q1", "q2"):
                chosen = torch.randperm(len(docs), generator=gen)[:depth].tolist()
                run[qid] = {docs[j]: round(scale * torch.rand(1, generator=gen).item(), 4) for j in chosen}
            runs.append(run)
        cases.append(
            Case(
                name,
                (runs,),
                rrf(runs, k=60),
                {
                    "ranks must start at 1 for the best document (1 / (60 + 1)), not 0.": rrf(runs, k=59),
                    "the constant k was left out: use 1 / (60 + rank).": rrf(runs, k=0),
                    "the scores were added, not the reciprocal ranks: RRF uses only each document's RANK in each "
                    "run.": _sum_runs(runs),
                },
            )
        )
    _run("check_rrf", fn, cases, _compare_runs, "1 / (60 + rank), summed over runs")


def _sum_runs(runs: Sequence[Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for run in runs:
        for qid, scores in run.items():
            for did, s in scores.items():
                out.setdefault(qid, {})[did] = out.get(qid, {}).get(did, 0.0) + s
    return out


def _compare_runs(check: str, got: Any, case: Case) -> None:
    """Compare runs ``{query id: {doc id: score}}`` score by score."""
    if not isinstance(got, Mapping) or not all(isinstance(v, Mapping) for v in got.values()):
        raise _fail(check, case, "expected a run: a dict {query id: {doc id: score}}.")

    def same(a, b):
        return set(a) == set(b) and all(
            set(a[q]) == set(b[q]) and all(math.isclose(a[q][d], b[q][d], abs_tol=1e-6) for d in b[q]) for q in b
        )

    def describe(got, expected):
        if set(got) != set(expected):
            return f"the fused run must hold every query of the input runs {sorted(expected)}, got {sorted(got)}."
        for q, scores in expected.items():
            if set(got[q]) != set(scores):
                return (
                    f"query {q!r}: the fused run must hold every document any run retrieved "
                    f"({len(scores)} documents), got {len(got[q])}."
                )
            bad = next((d for d, s in scores.items() if not math.isclose(got[q][d], s, abs_tol=1e-6)), None)
            if bad is not None:
                return f"query {q!r}, document {bad!r}: got {got[q][bad]:.6f}, expected {scores[bad]:.6f}."
        return "the fused run differs from the expected one."

    _judge(check, case, got, same, describe)


_DOMAIN_TEXTS = [
    "Hypercholesterolemia raises the risk of atherosclerosis; statins lower LDL cholesterol.",
    "The cat sat on the mat. The cat slept.",
    "Myocardial infarction, i.e. a heart attack, follows thrombosis in 3 of 4 cases.",
]


def check_pieces_per_word(fn: Callable[[Sequence[str]], float], encoder=None) -> None:
    """Check ``fn(texts) -> float``: the mean number of word pieces per word under ``encoder.tokenizer``.

    Words are runs of letters (``re.findall(r"[A-Za-z]+", text)``), counted with
    repetition; each word is tokenized on its own, without [CLS]/[SEP]. Reference:
    ``lateint.domain.fragmentation(encoder.tokenizer, texts)["pieces_per_word"]``.
    """
    import re

    from .domain import fragmentation

    tokenizer = (encoder or _default_encoder()).tokenizer
    cases = []
    for name, texts in (
        ("3 texts: medical, everyday, medical with a number and abbreviations", _DOMAIN_TEXTS),
        ("1 everyday text with a repeated word", _DOMAIN_TEXTS[1:2]),
    ):
        words = [w for t in texts for w in re.findall(r"[A-Za-z]+", t)]
        distinct = sorted(set(words))
        pieces = dict(zip(distinct, (len(ids) for ids in tokenizer(distinct, add_special_tokens=False)["input_ids"])))
        whole = sum(len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"])
        cases.append(
            Case(
                name,
                (list(texts),),
                fragmentation(tokenizer, texts)["pieces_per_word"],
                {
                    "[CLS] and [SEP] were counted (2 extra pieces per word): tokenize with "
                    "add_special_tokens=False.": sum(pieces[w] + 2 for w in words) / len(words),
                    "each distinct word was counted once; count every occurrence (a repeated word counts each "
                    "time).": sum(pieces.values()) / len(distinct),
                    "the whole text was tokenized, so numbers and punctuation were counted too; tokenize the "
                    "words (runs of letters) only.": whole / len(words),
                },
            )
        )
    _run("check_pieces_per_word", fn, cases, _compare_number, "words = runs of letters, no special tokens")


# ======================================================== 05: cost and speed


def check_storage_bytes(fn: Callable[[Sequence[torch.Tensor], torch.dtype], tuple[int, int]]) -> None:
    """Check ``fn(doc_vectors, dtype) -> (maxsim_bytes, pooled_bytes)``.

    ``doc_vectors`` is one ``(L_i, dim)`` token matrix per document. ``maxsim_bytes``
    is what storing every token vector takes in ``dtype`` (no padding), ``pooled_bytes``
    what one vector per document takes: ``sum(L_i) * dim * size`` and ``n * dim * size``
    bytes, with ``size`` the bytes of one number (``torch.finfo(dtype).bits // 8``).
    """
    gen = _gen(10)
    cases = []
    for name, lengths, dim, dtype in (
        ("3 documents of 4, 9 and 2 tokens, dim 8, float32", (4, 9, 2), 8, torch.float32),
        ("5 documents of 1 to 30 tokens, dim 16, float16", (1, 30, 7, 12, 3), 16, torch.float16),
        ("1 document of 5 tokens, dim 4, bfloat16", (5,), 4, torch.bfloat16),
    ):
        docs = [torch.randn(n, dim, generator=gen) for n in lengths]
        size = torch.finfo(dtype).bits // 8
        tokens = sum(lengths)
        cases.append(
            Case(
                name,
                (docs, dtype),
                (nbytes([d.to(dtype) for d in docs]), nbytes(torch.empty(len(docs), dim, dtype=dtype))),
                {
                    "these are bits, not bytes: divide by 8.": (tokens * dim * size * 8, len(docs) * dim * size * 8),
                    "these count numbers, not bytes: multiply by the bytes of one number in this dtype.": (
                        tokens * dim,
                        len(docs) * dim,
                    ),
                    "the token count is padded to the longest document; store each document's own tokens only.": (
                        max(lengths) * len(docs) * dim * size,
                        len(docs) * dim * size,
                    ),
                    "the two numbers are swapped: MaxSim's storage first, pooled second.": (
                        len(docs) * dim * size,
                        tokens * dim * size,
                    ),
                },
            )
        )
    _run("check_storage_bytes", fn, cases, _compare_pair_of_ints, "every token x dim x bytes per number")


def _compare_pair_of_ints(check: str, got: Any, case: Case) -> None:
    try:
        pair = tuple(int(x) for x in got)
    except (TypeError, ValueError):
        raise _fail(check, case, f"expected a pair (maxsim_bytes, pooled_bytes), got {got!r:.80}.") from None
    _judge(check, case, pair, lambda a, b: a == b, lambda a, b: f"got {a}, expected {b} bytes.")


def check_token_pooling(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    """Check ``fn(vectors (L, dim), factor) -> (ceil(L / factor), dim)``: adjacent token pooling.

    Each run of ``factor`` consecutive token vectors (the last run may be shorter) is
    replaced by its mean, L2-normalised.
    """
    gen = _gen(11)
    cases = []
    for name, length, factor in (
        ("10 tokens, factor 2", 10, 2),
        ("10 tokens, factor 3 (the last group has 1 token)", 10, 3),
        ("7 tokens, factor 1 (nothing to pool)", 7, 1),
        ("3 tokens, factor 4 (one group)", 3, 4),
    ):
        vectors = _unit(length, 6, gen=gen)
        groups = torch.split(vectors, factor)  # consecutive runs of `factor` tokens, the last may be shorter
        means = torch.stack([g.mean(dim=0) for g in groups])
        expected = torch.nn.functional.normalize(means, dim=-1)
        full = length // factor  # groups of exactly `factor` tokens
        cases.append(
            Case(
                f"{name}, unit token vectors",
                (vectors, factor),
                expected,
                {
                    "the group means are not L2-normalised: a mean of unit vectors is shorter than 1.": means,
                    "every factor-th token was kept instead of averaging each group: average the group.": vectors[
                        ::factor
                    ],
                    "the last, shorter group was dropped: keep it (ceil(L / factor) groups).": expected[:full],
                },
            )
        )
    _run(
        "check_token_pooling",
        fn,
        cases,
        _compare_tensor("(ceil(L / factor), dim)", unit_rows=True),
        "consecutive groups, remainder kept, normalised",
    )


# ====================================================== 06: where retrieval still breaks


def check_normalized_scores(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> None:
    """Check ``fn(Q, D, q_mask, d_mask) -> (nq, nd)``: MaxSim divided by each query's number of real tokens.

    The result is the average best-match similarity of a query's tokens, in [-1, 1]
    for unit vectors, so scores of different queries are comparable. Reference:
    :func:`lateint.maxsim.maxsim_scores` divided by ``q_mask.sum(dim=1)``.
    """
    gen = _gen(8)
    cases = []
    for name, q_lens, d_lens in (
        ("3 queries of 1, 4 and 9 tokens x 3 documents; padded positions hold vectors", (1, 4, 9), (5, 3, 8)),
        ("1 query of 6 tokens x 2 documents (no query padding)", (6,), (4, 7)),
        ("2 queries of 2 and 12 tokens x 4 documents", (2, 12), (3, 9, 1, 6)),
    ):
        Q, qm = _padded(q_lens, 10, gen)
        D, dm = _padded(d_lens, 10, gen)
        total = maxsim_scores(Q, D, qm, dm)
        lengths = qm.sum(dim=1, keepdim=True).float()
        cases.append(
            Case(
                name,
                (Q, D, qm, dm),
                total / lengths,
                {
                    "divided by the padded query length (the longest query in the batch), so a short query's "
                    "score shrinks with its batch neighbours; divide by its own number of real tokens "
                    "(q_mask.sum(dim=1)).": total / Q.shape[1],
                    "this is the raw MaxSim sum; divide each query's scores by its number of real tokens.": total,
                    "query padding was counted in the sum, then divided by the real length: padded positions "
                    "inflate short queries (mask them before summing).": maxsim_scores(Q, D, None, dm) / lengths,
                    "divided by the document's number of tokens; normalise by the QUERY's number of tokens.": total
                    / dm.sum(dim=1).float(),
                },
            )
        )
    _run(
        "check_normalized_scores",
        fn,
        cases,
        _compare_tensor("(n_queries, n_docs)"),
        "sum over real query tokens / their number",
    )


def check_largest_losses(fn: Callable[[Mapping[str, tuple[float, float]], int], Sequence[str]]) -> None:
    """Check ``fn(per_query, n) -> query ids``: where method b lost to method a by most.

    ``per_query`` maps query id -> ``(value under a, value under b)``. Return up to
    ``n`` ids with ``b < a``, largest loss first (ties by query id). Reference:
    :meth:`lateint.perquery.Paired.largest` with ``direction="losses"``.
    """
    from .perquery import Paired

    gen = _gen(9)
    cases = []
    for name, n_queries, n in (
        ("12 queries, ask for 3", 12, 3),
        ("6 queries, ask for 10 (fewer losses exist)", 6, 10),
        ("8 queries with equal losses, ask for 4 (ties by query id)", 8, 4),
    ):
        values = torch.rand(n_queries, 2, generator=gen).mul(4).round().div(4)  # steps of 0.25: ties happen
        if "equal" in name:
            values[:, 0], values[:, 1] = 1.0, torch.tensor([0.5, 1.0] * (n_queries // 2))
        per_query = {f"q{i:02d}": (float(a), float(b)) for i, (a, b) in enumerate(values.tolist())}
        paired = Paired("ndcg@10", per_query, (0.0, 0.0))
        expected = [q for q, _, _ in paired.largest(n, "losses")]
        every_loss = [q for q, _, _ in paired.largest(len(per_query), "losses")]
        cases.append(
            Case(
                name,
                (per_query, n),
                expected,
                {
                    "these are the largest WINS of b (b > a); the task asks where b lost (b < a).": [
                        q for q, _, _ in paired.largest(n, "wins")
                    ],
                    "smallest loss first; put the largest loss (a - b) first.": every_loss[::-1][:n],
                    "keep at most n query ids.": every_loss,
                },
            )
        )
    _run("check_largest_losses", fn, cases, _compare_ids, "losses only, largest first, at most n")


from .train import check_contrastive_loss, check_one_change  # noqa: E402,F401  exercise 07 (needs Case and _run above)
