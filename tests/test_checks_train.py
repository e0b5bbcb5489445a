"""The exercise-07 checks: the right answer passes, each known mistake is named, one change at a time."""
import pytest
import torch

from lateint import checks
from lateint.train import contrastive_loss

ce = torch.nn.functional.cross_entropy


def test_the_library_loss_passes(capsys):
    checks.check_contrastive_loss(contrastive_loss)
    assert "correct on all 3 hidden cases" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda s, t: ce(s, torch.arange(s.shape[0])), "temperature was left out"),
        (lambda s, t: ce(s * t, torch.arange(s.shape[0])), "MULTIPLIED"),
        (lambda s, t: ce(s / t, torch.arange(s.shape[0]), reduction="sum"), "summed over the queries"),
        (lambda s, t: ce(s / t, torch.zeros(s.shape[0], dtype=torch.long)), "not column 0"),
        (lambda s, t: None, "returned None"),
    ],
)
def test_known_mistakes_are_named(wrong, message):
    with pytest.raises(checks.CheckFailed, match=message):
        checks.check_contrastive_loss(wrong)


def test_one_change_at_a_time(capsys):
    base = {"temperature": 1.0, "dim": None, "hard_negatives": 0, "n": 32}
    checks.check_one_change(base, {**base, "dim": 64})
    assert "dim None -> 64" in capsys.readouterr().out
    for variant, message in (
        (base, "the variant is the baseline"),
        ({**base, "dim": 64, "n": 64}, "change only ONE"),
        ({**base, "dim": 1000}, "outside what this exercise can run"),
        ({**base, "lr": 1.0}, "does not use"),
        (..., "must be a dict"),
    ):
        with pytest.raises(checks.CheckFailed, match=message):
            checks.check_one_change(base, variant)
