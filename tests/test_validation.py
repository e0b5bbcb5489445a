"""One validation for token matrices and masks: pooling and MaxSim accept and refuse the same inputs, in the same words."""
import pytest
import torch

from lateint import maxsim, maxsim_batch, pool

g = torch.Generator().manual_seed(0)
Q, D = torch.randn(2, 3, 8, generator=g), torch.randn(3, 4, 8, generator=g)
BOOL = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.int64, torch.uint8])
def test_a_mask_of_zeros_and_ones_means_the_same_in_any_dtype(dtype):
    mask = BOOL.to(dtype)
    torch.testing.assert_close(maxsim_batch(Q, D, d_mask=mask), maxsim_batch(Q, D, d_mask=BOOL))
    for how in ("mean", "max", "cls"):
        torch.testing.assert_close(pool(D, mask, how), pool(D, BOOL, how))


def test_a_weighted_mask_is_refused_by_pooling_and_maxsim_alike():
    half = BOOL.float() * 0.5
    with pytest.raises(ValueError, match="got 0.5 among its torch.float32 values") as by_maxsim:
        maxsim_batch(Q, D, d_mask=half)
    with pytest.raises(ValueError, match="got 0.5 among its torch.float32 values") as by_pool:
        pool(D, half)
    assert str(by_pool.value).split(" must ")[1] == str(by_maxsim.value).split(" must ")[1]


@pytest.mark.parametrize("how", ["mean", "max", "cls"])
def test_a_row_with_no_real_token_is_refused_by_pooling_as_by_maxsim(how):
    empty = BOOL.clone()
    empty[1] = False
    with pytest.raises(ValueError, match=r"row\(s\) \[1\] have no real token"):
        maxsim_batch(Q, D, d_mask=empty)
    with pytest.raises(ValueError, match=r"row\(s\) \[1\] have no real token"):
        pool(D, empty, how)  # mean gave zeros and max gave -3.4e38 here before


def test_mixed_dtypes_get_the_same_clear_error_for_one_pair_and_for_batches():
    for call in (lambda: maxsim(Q[0].half(), D[0]), lambda: maxsim_batch(Q.half(), D)):
        with pytest.raises(ValueError, match="cast both to the same dtype"):
            call()
