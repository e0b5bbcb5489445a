"""``expect``: a notebook's visible check of a number that may move in its last digit.

Floating-point sums differ in their last bits between CPUs (AVX-512 vs AVX2 kernels,
one thread or two), so a notebook must not ask nbval to compare such a number digit
for digit. Instead, the cell that prints the figure has its output ignored
(``# NBVAL_IGNORE_OUTPUT``), and the next cell states what the lesson claims about it::

    expect(kept, between=(0.93, 0.97), what="share of MaxSim's nDCG@10 kept by pool 4")

The check prints one line that does *not* contain the value (so its output is the same
on every machine) and raises :class:`ExpectationFailed` with the value when the claim
does not hold. Learners read it as "what this cell should show".
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["ExpectationFailed", "expect"]


class ExpectationFailed(AssertionError):
    """A notebook figure is outside the range its lesson claims."""


def _fmt(x: float) -> str:
    return f"{x:g}"


def expect(
    value: float | Iterable[float],
    *,
    between: tuple[float, float] | None = None,
    near: float | None = None,
    tol: float | None = None,
    above: float | None = None,
    below: float | None = None,
    what: str = "value",
) -> None:
    """Check that ``value`` (a number, or each of several) satisfies the lesson's claim.

    Give exactly one form of claim:

    - ``between=(lo, hi)``: ``lo <= value <= hi`` (both ends included);
    - ``near=x, tol=t``: ``|value - x| <= t``;
    - ``above=x`` and/or ``below=x``: ``value > x`` / ``value < x`` (strict).

    Prints ``✓ <what> ...`` with the claim only, never the value, so the printed line is
    identical on every CPU. Raises :class:`ExpectationFailed` (with the value) when the
    claim fails, and ``ValueError`` for a malformed claim or a value that is not a
    finite number.
    """
    forms = [between is not None, near is not None, above is not None or below is not None]
    if sum(forms) != 1:
        raise ValueError("expect() takes exactly one claim: between=(lo, hi), near=x with tol=t, or above=/below=")
    if (near is None) != (tol is None):
        raise ValueError("expect(near=x) needs tol=t (and tol only goes with near)")
    if between is not None:
        lo, hi = between
        if lo > hi:
            raise ValueError(f"expect(between=({lo}, {hi})): the lower end is above the upper end")
        ok, claim = (lambda v: lo <= v <= hi), f"is between {_fmt(lo)} and {_fmt(hi)}"
    elif near is not None:
        if tol < 0:
            raise ValueError(f"expect(tol={tol}): the tolerance must be >= 0")
        ok, claim = (lambda v: abs(v - near) <= tol), f"is {_fmt(near)} ± {_fmt(tol)}"
    else:
        parts = ([f"above {_fmt(above)}"] if above is not None else []) + ([f"below {_fmt(below)}"] if below is not None else [])
        ok = lambda v: (above is None or v > above) and (below is None or v < below)  # noqa: E731
        claim = "is " + " and ".join(parts)

    values = [value] if isinstance(value, (int, float)) or hasattr(value, "item") and getattr(value, "ndim", 0) == 0 else list(value)
    if not values:
        raise ValueError(f"expect(): no values given for {what!r}")
    floats = []
    for v in values:
        f = float(v)
        if not math.isfinite(f):
            raise ValueError(f"expect(): {what} is {f}, not a finite number")
        floats.append(f)
    bad = [f for f in floats if not ok(f)]
    if bad:
        shown = ", ".join(f"{f:.6g}" for f in bad[:5])
        raise ExpectationFailed(f"{what} {claim} was expected, but got {shown}")
    label = what if len(floats) == 1 else f"each of the {len(floats)} {what}"
    print(f"✓ {label} {claim}")
