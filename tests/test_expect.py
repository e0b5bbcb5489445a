"""expect(): the visible, CPU-independent check notebooks put after a figure that may move in its last digit."""

import numpy as np
import pytest
import torch

from lateint import expect
from lateint.checks import ExpectationFailed


def test_between_passes_and_prints_the_claim_not_the_value(capsys):
    expect(0.9461, between=(0.93, 0.97), what="kept")
    out = capsys.readouterr().out
    assert out == "✓ kept is between 0.93 and 0.97\n"
    assert "0.946" not in out


def test_same_line_for_values_differing_in_last_digit(capsys):
    expect(0.94549999, between=(0.9, 1.0), what="x")
    a = capsys.readouterr().out
    expect(0.94550001, between=(0.9, 1.0), what="x")
    assert capsys.readouterr().out == a


@pytest.mark.parametrize("value", [0.92, 0.98, float("nan")])
def test_between_fails_with_the_value(value):
    err = ExpectationFailed if value == value else ValueError
    with pytest.raises(err, match="kept"):
        expect(value, between=(0.93, 0.97), what="kept")


def test_near_and_strict_bounds(capsys):
    expect(np.float32(1.0004), near=1.0, tol=1e-3, what="norm")
    expect(torch.tensor(0.5), above=0.0, below=1.0, what="p")
    assert capsys.readouterr().out.splitlines() == ["✓ norm is 1 ± 0.001", "✓ p is above 0 and below 1"]
    with pytest.raises(ExpectationFailed, match="1.01"):
        expect(1.01, near=1.0, tol=1e-3, what="norm")
    with pytest.raises(ExpectationFailed):
        expect(1.0, above=1.0)


def test_several_values_each_checked(capsys):
    expect([0.1, 0.2, 0.3], below=0.5, what="gaps")
    assert capsys.readouterr().out == "✓ each of the 3 gaps is below 0.5\n"
    with pytest.raises(ExpectationFailed, match="0.7"):
        expect(torch.tensor([0.1, 0.7]), below=0.5, what="gaps")


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"between": (1, 0)}, {"near": 1.0}, {"tol": 0.1, "between": (0, 1)}, {"between": (0, 1), "above": 0}, {"near": 0, "tol": -1}],
)
def test_malformed_claims_are_refused(kwargs):
    with pytest.raises(ValueError):
        expect(0.5, **kwargs)


def test_empty_values_refused():
    with pytest.raises(ValueError, match="no values"):
        expect([], below=1.0)
