"""The checks' harness: hidden cases, judging an answer, and the plain-words verdicts.

Each lesson module builds its hidden :class:`Case` s and calls :func:`run_check`; see
:mod:`lateint.checks` for how a check works.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..encoders import load_encoder
from ..similarity import pad

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


@dataclass
class Suite:
    """A check taken apart: its hidden cases and how it judges answers, without a function to call yet.

    For a grader that calls the learner's function somewhere else (``lateint.grade`` runs
    it in a sandbox and sends back plain data): :meth:`run` does exactly what the check
    does, with any ``fn`` that gives the answers, e.g. one replaying those sent back.
    """

    check: str
    cases: list[Case]
    compare: Callable[[str, Any, Case], None]
    done: str

    def run(self, fn: Callable) -> None:
        """Call ``fn`` on copies of each case's arguments; raise CheckFailed or print the ✓ line."""
        run_check(self.check, fn, self.cases, self.compare, self.done)


class _Collector:
    """Passed to a check in place of a function: the check hands over its Suite instead of running."""

    suite: Suite | None = None


def suite_of(check: Callable, **kwargs: Any) -> Suite:
    """The :class:`Suite` of a check function (e.g. ``suite_of(check_maxsim)``): its cases built, nothing run.

    ``kwargs`` go to the check (``encoder=`` for the checks that encode text).
    """
    collector = _Collector()
    check(collector, **kwargs)
    if collector.suite is None:
        raise TypeError(f"{getattr(check, '__name__', check)!r} is not one of the checks in lateint.checks.")
    return collector.suite


def run_check(check: str, fn: Callable, cases: Sequence[Case], compare: Callable[[str, Any, Case], None], done: str) -> None:
    """Call ``fn`` on every case, compare each answer, print the verdict or raise CheckFailed."""
    if isinstance(fn, _Collector):  # suite_of() asks for the cases only
        fn.suite = Suite(check, list(cases), compare, done)
        return
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


def failure(check: str, case: Case, what: str) -> CheckFailed:
    return CheckFailed(f"{check}: {what}\nHidden case: {case.name}.")


def judge_answer(
    check: str, case: Case, got: Any, same: Callable[[Any, Any], bool], describe: Callable[[Any, Any], str]
) -> None:
    """Pass if ``got`` is the expected answer; else name the known mistake it equals, or describe the difference."""
    if same(got, case.expected):
        return
    for diagnosis, wrong in case.mistakes.items():
        if same(got, wrong):
            raise failure(check, case, diagnosis)
    raise failure(check, case, describe(got, case.expected))


def compare_interval(check: str, got: Any, case: Case) -> None:
    """Judge ``got`` as ``(estimate, lo, hi)``, an estimate and its bootstrap interval, against ``case.expected``.

    The estimate must be exact (1e-9); another random generator gives other resamples, so the ends need only
    agree within 5% of the expected interval's width (checks use 10,000 resamples so the reference's own
    wobble stays well inside that).
    """
    try:
        triple = tuple(float(x) for x in got)
        assert len(triple) == 3
    except (TypeError, ValueError, AssertionError):
        raise failure(check, case, f"expected three numbers (estimate, lo, hi), got {got!r:.80}.") from None
    width = case.expected[2] - case.expected[1]

    def same(a, b) -> bool:
        return (math.isclose(a[0], b[0], abs_tol=1e-9)
                and all(abs(x - y) <= 0.05 * width + 1e-9 for x, y in zip(a[1:], b[1:])))

    judge_answer(check, case, triple, same,
                 lambda a, b: f"got {a[0]:.4f}, interval {a[1]:.4f} to {a[2]:.4f}; expected {b[0]:.4f}, "
                              f"{b[1]:.4f} to {b[2]:.4f}.")


UNPAIRED = ("the interval is far too wide: the two series were resampled separately. Draw the queries once per "
            "resample and take both values of those same queries, so what each query's difficulty adds to both cancels.")


def compare_paired_interval(unpaired: str = UNPAIRED) -> Callable[[str, Any, Case], None]:
    """:func:`compare_interval`, naming one more mistake: the right estimate with an interval over 1.5 times as
    wide as the paired one, which resampling two per-query series separately gives (``unpaired`` says so)."""

    def compare(check: str, got: Any, case: Case) -> None:
        try:
            estimate, lo, hi = (float(x) for x in got)
        except (TypeError, ValueError):
            estimate = lo = hi = math.nan  # not three numbers: compare_interval says so
        try:
            compare_interval(check, got, case)
        except CheckFailed:
            if math.isclose(estimate, case.expected[0], abs_tol=1e-9) and hi - lo > 1.5 * (case.expected[2] - case.expected[1]):
                raise failure(check, case, unpaired) from None
            raise

    return compare


def compare_choice(choices: Sequence[str]) -> Callable[[str, Any, Case], None]:
    """Judge an answer that must be one of ``choices`` (a verdict in words), naming the known wrong choices."""

    def compare(check: str, got: Any, case: Case) -> None:
        if got not in choices:
            raise failure(check, case, f"answer with one of {list(choices)}, got {got!r:.80}.")
        judge_answer(check, case, got, lambda a, b: a == b, lambda a, b: f"got {a!r}, expected {b!r}.")

    return compare


def is_close(a: Any, b: Any, tol: float = 1e-4) -> bool:
    if isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a, b.float(), atol=tol, rtol=tol)
    if isinstance(b, (int, float)):
        return isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    return a == b


def _as_number(check: str, got: Any, case: Case) -> float:
    """A scalar answer as a float: a Python number, a numpy scalar or a one-element tensor."""
    if isinstance(got, torch.Tensor):
        if got.numel() != 1:
            raise failure(
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
        raise failure(check, case, f"expected a number, got a {type(got).__name__}: {got!r}.") from None


def _as_tensor(check: str, got: Any, case: Case, axes: str) -> torch.Tensor:
    """An answer as a float tensor, with a plain-words error when it is a list or the wrong shape."""
    if not isinstance(got, torch.Tensor):
        try:
            got = torch.as_tensor(got)
        except (TypeError, ValueError, RuntimeError):
            raise failure(
                check,
                case,
                f"expected ONE tensor of shape {axes}, got a {type(got).__name__}. "
                "If you built a list of tensors, combine it with torch.stack(...).",
            ) from None
    expected = case.expected
    if got.shape != expected.shape:
        for diagnosis, wrong in case.mistakes.items():  # some mistakes change the shape
            if isinstance(wrong, torch.Tensor) and is_close(got.float(), wrong):
                raise failure(check, case, diagnosis)
        if got.dim() == 2 and got.shape == expected.T.shape and got.shape[0] != got.shape[1]:
            raise failure(
                check,
                case,
                f"the answer is transposed: shape {tuple(got.shape)}, expected {axes} = {tuple(expected.shape)}.",
            )
        raise failure(check, case, f"wrong shape: got {tuple(got.shape)}, expected {axes} = {tuple(expected.shape)}.")
    if not torch.is_floating_point(got):
        raise failure(check, case, f"the answer has dtype {got.dtype}; expected floating-point numbers.")
    return got.detach().float().cpu()


def compare_tensor(axes: str, unit_rows: bool = False) -> Callable[[str, Any, Case], None]:
    """A compare function for tensor answers whose axes are described by ``axes``."""

    def compare(check: str, got: Any, case: Case) -> None:
        got = _as_tensor(check, got, case, axes)
        expected = case.expected.float()
        if torch.isnan(got).any():
            raise failure(check, case, "the answer contains NaN (a 0/0, or 0 * inf where padding was masked with -inf?).")
        if unit_rows and not is_close(got, expected) and is_close(torch.nn.functional.normalize(got, dim=-1), expected):
            raise failure(
                check, case, "right direction, but the vectors are not L2-normalised (each row should have length 1)."
            )
        judge_answer(check, case, got, is_close, describe_difference)

    return compare


def compare_number(check: str, got: Any, case: Case) -> None:
    value = _as_number(check, got, case)
    if math.isnan(value):
        raise failure(check, case, "the answer is NaN (a division 0/0?).")
    judge_answer(check, case, value, is_close, lambda a, b: f"got {a:.4f}, expected {b:.4f}.")


def describe_difference(got: torch.Tensor, expected: torch.Tensor) -> str:
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


def seeded_generator(offset: int) -> torch.Generator:
    return torch.Generator().manual_seed(SEED + offset)


def unit_vectors(*shape: int, gen: torch.Generator) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.randn(*shape, generator=gen), dim=-1)


def padded_batch(
    lengths: Sequence[int], dim: int, gen: torch.Generator, garbage: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """A padded batch ``(n, max L, dim)`` of unit token vectors and its mask ``(n, max L)``.

    With ``garbage`` the padded positions hold unit vectors too, as a real encoder's
    output does at [PAD] positions: only the mask says they are not tokens.
    """
    batch, mask = pad([unit_vectors(n, dim, gen=gen) for n in lengths])
    if garbage:
        filler = unit_vectors(*batch.shape, gen=gen)
        batch = torch.where(mask.unsqueeze(-1), batch, filler)
    return batch, mask


@functools.cache
def default_encoder():
    return load_encoder()


def raw_hidden_states(encoder, texts: Sequence[str], is_query: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The encoder's last hidden states ``(n, L, dim)`` float32 for ``texts`` in ONE padded batch, and the
    attention mask ``(n, L)`` bool, both on the CPU whatever the encoder's device (the library's device rule)."""
    enc = encoder.tokenize(list(texts), is_query)
    with torch.inference_mode():
        hidden = encoder.token_states(enc["input_ids"], enc["attention_mask"])
    return hidden.float().cpu(), enc["attention_mask"].bool().cpu()


def compare_ids(check: str, got: Any, case: Case) -> None:
    if isinstance(got, (str, bytes)) or not isinstance(got, Sequence):
        raise failure(check, case, f"expected a list of doc ids, best first, got a {type(got).__name__}.")
    got = [g[0] if isinstance(g, tuple) else g for g in got]  # (doc_id, score) pairs are fine too

    def describe(got, expected):
        if sorted(map(str, got)) != sorted(expected):
            return f"wrong ids: expected these {len(expected)}, in this order: {expected}; got {len(got)}: {got}."
        bad = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
        return f"wrong order from position {bad + 1}: got {got[bad]!r}, expected {expected[bad]!r}."

    judge_answer(check, case, got, lambda a, b: a == b, describe)
