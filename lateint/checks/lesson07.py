"""Checks for exercise 07 (train your own): the in-batch contrastive loss, and one change at a time."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch

from ..train import contrastive_loss
from .harness import Case, CheckFailed, compare_number, run_check, seeded_generator

__all__ = ["check_contrastive_loss", "check_one_change", "KNOBS"]

# What exercise 07 lets the student change, and the values that make sense for each.
KNOBS = {
    "temperature": lambda v: isinstance(v, (int, float)) and 0 < v <= 10,
    "dim": lambda v: v is None or (isinstance(v, int) and 1 <= v <= 384),
    "hard_negatives": lambda v: isinstance(v, int) and 0 <= v <= 4,
    "n": lambda v: isinstance(v, int) and 8 <= v <= 809,
}


def check_contrastive_loss(fn: Callable[[torch.Tensor, float], torch.Tensor]) -> None:
    """Check ``fn(scores, temperature) -> loss``: the in-batch contrastive loss.

    ``scores`` is ``(B, n_docs)``: row ``i`` scores query ``i`` against every document of the
    batch, and document ``i`` is query ``i``'s positive (hard negatives, if any, come after the
    ``B`` positives). The loss is the mean over queries of ``-log softmax(scores[i] / temperature)[i]``.
    Reference: :func:`lateint.train.contrastive_loss`.
    """

    gen = seeded_generator(11)
    cases = []
    for name, b, n_docs, temperature, scale in (
        ("4 queries, 4 documents (in-batch negatives only), cosines, temperature 0.05", 4, 4, 0.05, 1.0),
        ("3 queries, 6 documents (3 hard negatives after the positives), MaxSim sums, temperature 1", 3, 6, 1.0, 8.0),
        ("5 queries, 5 documents, temperature 0.5", 5, 5, 0.5, 1.0),
    ):
        scores = scale * (2 * torch.rand(b, n_docs, generator=gen) - 1)
        labels = torch.arange(b)
        ce = torch.nn.functional.cross_entropy
        cases.append(
            Case(
                name,
                (scores, temperature),
                float(contrastive_loss(scores, temperature)),
                {
                    "the temperature was left out: divide the scores by it before the softmax.": float(ce(scores, labels)),
                    "the scores were MULTIPLIED by the temperature; divide them by it.": float(ce(scores * temperature, labels)),
                    "the loss was summed over the queries; take the mean.": float(ce(scores / temperature, labels, reduction="sum")),
                    "the softmax ran over the queries (a column) instead of over each query's documents (a row).": float(
                        ce((scores[:, :b] / temperature).T, labels)
                    ),
                    "the positive of query i is column i (label i), not column 0 for every query.": float(
                        ce(scores / temperature, torch.zeros(b, dtype=torch.long))
                    ),
                },
            )
        )
    run_check("check_contrastive_loss", fn, cases, compare_number, "mean cross-entropy of scores / temperature, label i")


def check_one_change(baseline: Mapping[str, object], variant: Mapping[str, object]) -> None:
    """Check that two training settings differ in exactly one of :data:`KNOBS`, to a sensible value.

    A controlled experiment changes one thing: then the difference in nDCG@10 can be blamed on it.
    """
    for label, settings in (("baseline", baseline), ("variant", variant)):
        if not isinstance(settings, Mapping):
            raise CheckFailed(f"check_one_change: {label} must be a dict of settings, got {type(settings).__name__}.")
        unknown = sorted(set(settings) - set(KNOBS))
        if unknown:
            raise CheckFailed(f"check_one_change: {label} has settings {unknown} this exercise does not use; "
                              f"change only one of {sorted(KNOBS)}.")
    changed = sorted(k for k in KNOBS if baseline.get(k) != variant.get(k))
    if not changed:
        raise CheckFailed("check_one_change: the variant is the baseline; change one of "
                          f"{sorted(KNOBS)} (e.g. variant = {{**baseline, 'temperature': 0.05}}).")
    if len(changed) > 1:
        raise CheckFailed(f"check_one_change: the variant changes {changed}; change only ONE of them, or a "
                          "difference in nDCG@10 cannot be blamed on either.")
    knob = changed[0]
    if not KNOBS[knob](variant.get(knob)):
        raise CheckFailed(f"check_one_change: {knob} = {variant.get(knob)!r} is outside what this exercise can run "
                          "(temperature in (0, 10], dim None or 1..384, hard_negatives 0..4, n 8..809).")
    print(f"✓ check_one_change: one thing changed: {knob} {baseline.get(knob)!r} -> {variant.get(knob)!r}.")
