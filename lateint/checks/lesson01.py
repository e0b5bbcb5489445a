"""Checks for exercise 01 one vector dilutes (``notebooks/exercises/01_*.ipynb``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ..lessons.demo import needle_haystack
from ..lessons.perquery import bootstrap_interval
from ..similarity import cosine_scores, maxsim
from ..pooling import mean_pool
from .harness import (
    Case,
    compare_choice,
    compare_interval,
    compare_tensor,
    default_encoder,
    padded_batch,
    raw_hidden_states,
    run_check,
    seeded_generator,
)


def check_mean_pool(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(hidden (n, L, dim), mask (n, L) bool) -> (n, dim)``: the average of the real tokens.

    Reference: :func:`lateint.pooling.mean_pool`. The padded positions of the hidden
    batches hold vectors, as a real model's output does, so ignoring the mask shows.
    """
    gen = seeded_generator(2)
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
        hidden, mask = padded_batch(lengths, 6, gen)
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
    run_check("check_mean_pool", fn, cases, compare_tensor("(n_texts, dim)"), "padding ignored, per-text lengths")


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


def check_embed_pooled(fn: Callable[[Sequence[str]], torch.Tensor], encoder=None) -> None:
    """Check ``fn(texts) -> (n, dim)``: one unit-length mean-pooled vector per text.

    Reference: ``encoder.encode_pooled(texts)`` (default encoder: the course's
    all-MiniLM-L6-v2). The hidden batches mix a one-word text with long ones, so a
    pooling that counts padding gives the short texts the wrong vectors.
    """
    cases = _embed_pooled_cases(encoder or default_encoder())
    run_check("check_embed_pooled", fn, cases, compare_tensor("(n_texts, dim)", unit_rows=True), "masked mean, normalised")


@functools.lru_cache(maxsize=4)
def _embed_pooled_cases(encoder) -> list[Case]:
    cases = []
    for name, texts in (
        ("4 texts of very different lengths in one batch (1 to 50 words)", _TEXTS),
        ("a single text (no padding at all)", _TEXTS[1:2]),
        ("2 short texts", [_TEXTS[0], _TEXTS[2]]),
    ):
        hidden, mask = raw_hidden_states(encoder, texts, is_query=False)
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

    Row ``i`` is for the document ``lateint.lessons.demo.needle_haystack(needle, n_filler=n_fillers[i])``
    (its default seed and position): column 0 the cosine of the pooled query and document
    vectors (``encoder.encode_pooled``), column 1 the MaxSim of their token vectors
    (``encode_queries`` / ``encode_documents``) divided by the number of query tokens, so
    both are similarities in [-1, 1].
    """
    case = _needle_case(encoder or default_encoder())
    run_check("check_needle_curve", fn, [case], compare_tensor("(len(n_fillers), 2)"), "pooled cosine and MaxSim per size")


@functools.lru_cache(maxsize=4)
def _needle_case(encoder) -> Case:
    sizes = [0, 3, 8]
    docs = [needle_haystack(_NEEDLE, n_filler=n) for n in sizes]
    q_tok = encoder.encode_queries([_NEEDLE_QUERY])[0]
    d_tok = encoder.encode_documents(docs)
    raw_q, raw_d = encoder.encode_pooled([_NEEDLE_QUERY], normalize=False, is_query=True), encoder.encode_pooled(docs, normalize=False)
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


def check_paired_interval(fn: Callable[[Sequence[float], int, int], tuple[float, float, float]]) -> None:
    """Check ``fn(deltas, n_resamples, seed) -> (mean, lo, hi)``: the mean of the per-query differences and its
    95% bootstrap interval (queries resampled with replacement; the 2.5th and 97.5th percentiles of the
    resampled means).

    Reference: :func:`lateint.lessons.perquery.bootstrap_interval`. Another random generator gives other
    resamples, so the ends need only agree within 5% of the interval's width (10,000 resamples keep
    the reference's own wobble well inside that); the mean must be exact.
    """
    gen = seeded_generator(12)
    cases = []
    for name, deltas in (
        ("30 queries, small differences of both signs", (torch.randn(30, generator=gen) * 0.1 + 0.02).tolist()),
        ("20 queries, mostly ties (0) and a few large wins", [0.0] * 14 + [0.5, 0.3, 0.6, 0.2, 0.4, -0.1]),
        ("50 queries, one huge loss among small wins", [0.05] * 49 + [-1.0]),
        ("8 queries, every difference the same", [0.25] * 8),
    ):
        arr = np.asarray(deltas)
        n, mean = len(arr), float(arr.mean())
        lo, hi = bootstrap_interval(arr, 10_000, 0)
        rng = np.random.default_rng(0)
        resampled = arr[rng.integers(0, n, size=(10_000, n))].mean(axis=1)
        mistakes = {
            "the interval has no width: resample WITH replacement (some queries twice, some not at all); a "
            "reshuffle of the same queries always has the same mean.": (mean, mean, mean),
            "that is the spread of the single differences, not of their mean: take the percentiles of the "
            "resampled MEANS.": (mean, *np.percentile(arr, [2.5, 97.5]).tolist()),
            "that is a 90% interval (5th to 95th percentiles); a 95% interval keeps 2.5th to 97.5th.": (
                mean, *np.percentile(resampled, [5, 95]).tolist()),
            "the first number must be the mean of the differences, not their median.": (float(np.median(arr)), lo, hi),
        }
        cases.append(Case(f"{name} (10,000 resamples, seed 0)", (list(deltas), 10_000, 0), (mean, lo, hi), mistakes))
    run_check("check_paired_interval", fn, cases, compare_interval, "the mean and its 95% bootstrap interval")


VERDICTS = ("MaxSim ahead", "pooled ahead", "cannot tell")


def check_gap_verdict(fn: Callable[[float, float, float], str]) -> None:
    """Check ``fn(mean, lo, hi) -> verdict`` for the difference MaxSim − pooled and its 95% interval: "MaxSim
    ahead" when the whole interval is above 0, "pooled ahead" when it is below 0, else "cannot tell"."""
    cases = []
    for name, (mean, lo, hi), right in (
        ("an interval above 0", (0.05, 0.01, 0.09), "MaxSim ahead"),
        ("a positive mean, an interval containing 0", (0.03, -0.01, 0.07), "cannot tell"),
        ("an interval below 0", (-0.04, -0.08, -0.005), "pooled ahead"),
        ("a negative mean, an interval containing 0", (-0.01, -0.05, 0.03), "cannot tell"),
        ("an interval that starts exactly at 0", (0.2, 0.0, 0.4), "cannot tell"),
        ("a zero-width interval above 0 (every query moved alike)", (0.25, 0.25, 0.25), "MaxSim ahead"),
    ):
        by_mean = "MaxSim ahead" if mean > 0 else "pooled ahead"
        mistakes = {}
        if by_mean != right:
            mistakes["the verdict followed the mean's sign; the interval decides: only when it excludes 0 can "
                     "the queries tell the two methods apart."] = by_mean
        if right != "cannot tell":
            other = "pooled ahead" if right == "MaxSim ahead" else "MaxSim ahead"
            mistakes["the two methods are swapped: the numbers are MaxSim − pooled, so above 0 means MaxSim is "
                     "ahead."] = other
        cases.append(Case(f"{name}: mean {mean}, interval {lo} to {hi}", (mean, lo, hi), right, mistakes))
    run_check("check_gap_verdict", fn, cases, compare_choice(VERDICTS), "what an interval of MaxSim − pooled says")

