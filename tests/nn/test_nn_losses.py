from __future__ import annotations

import math

import pytest
import torch

from mrsynth.nn import AdversarialLoss, masked_l1, masked_l2


def _pair_and_mask():
    torch.manual_seed(0)
    pred = torch.randn(2, 1, 8, 8, requires_grad=True)
    target = torch.randn(2, 1, 8, 8)
    mask = torch.zeros(2, 1, 8, 8, dtype=torch.bool)
    mask[0, 0, 2:5, 1:4] = True
    mask[1, 0, 6:, :] = True
    return pred, target, mask


@pytest.mark.parametrize("loss", [masked_l1, masked_l2])
def test_gradient_outside_mask_is_exactly_zero(loss):
    pred, target, mask = _pair_and_mask()
    loss(pred, target, mask).backward()
    assert torch.all(pred.grad[~mask] == 0)
    assert torch.all(pred.grad[mask] != 0)


def test_normalised_by_mask_count_on_hand_made_example():
    pred = torch.zeros(1, 1, 4, 4)
    target = torch.zeros(1, 1, 4, 4)
    target[0, 0, 0, :2] = torch.tensor([2.0, 4.0])  # inside the mask
    target[0, 0, 3, 3] = 100.0  # outside: must not count
    mask = torch.zeros(1, 1, 4, 4)
    mask[0, 0, 0, :3] = 1  # three pixels
    assert masked_l1(pred, target, mask).item() == pytest.approx((2 + 4 + 0) / 3)
    assert masked_l2(pred, target, mask).item() == pytest.approx((4 + 16 + 0) / 3)
    assert masked_l1(pred, target).item() == pytest.approx((2 + 4 + 100) / 16)


def test_mask_broadcasts_over_channels_and_pools_the_batch():
    pred, target, mask = _pair_and_mask()
    pred3, target3 = pred.detach().repeat(1, 3, 1, 1), target.repeat(1, 3, 1, 1)
    expected = (pred3 - target3).abs()[mask.expand(-1, 3, -1, -1)].mean()
    assert masked_l1(pred3, target3, mask).item() == pytest.approx(expected.item())


@pytest.mark.parametrize("loss", [masked_l1, masked_l2])
def test_empty_mask_is_finite_zero(loss):
    pred, target, _ = _pair_and_mask()
    value = loss(pred, target, torch.zeros(2, 1, 8, 8))
    value.backward()
    assert value.item() == 0.0
    assert torch.isfinite(pred.grad).all() and torch.all(pred.grad == 0)


def test_half_precision_batch_does_not_overflow():
    pred = torch.full((4, 1, 256, 256), 3.0, dtype=torch.float16)
    target = torch.zeros_like(pred)
    assert masked_l2(pred, target, torch.ones_like(pred)).item() == pytest.approx(9.0)


def test_bce_of_zero_logits_is_log_two():
    loss = AdversarialLoss("bce")
    zeros = torch.zeros(2, 1, 5, 5)
    assert loss.generator(zeros).item() == pytest.approx(math.log(2))
    assert loss.discriminator(zeros, zeros).item() == pytest.approx(math.log(2))


def test_bce_on_known_logits():
    loss = AdversarialLoss("bce")
    real, fake = torch.full((1, 1, 2, 2), 2.0), torch.full((1, 1, 2, 2), -1.0)
    softplus = lambda v: math.log1p(math.exp(v))  # noqa: E731
    # BCE(x, 1) = softplus(-x), BCE(x, 0) = softplus(x)
    assert loss.generator(fake).item() == pytest.approx(softplus(1.0))
    assert loss.discriminator(real, fake).item() == pytest.approx(0.5 * (softplus(-2.0) + softplus(-1.0)))


def test_lsgan_on_known_logits():
    loss = AdversarialLoss("lsgan")
    real, fake = torch.tensor([[3.0, 1.0]]), torch.tensor([[0.5, -1.5]])
    assert loss.generator(fake).item() == pytest.approx((0.25 + 6.25) / 2)
    assert loss.discriminator(real, fake).item() == pytest.approx(0.5 * ((4 + 0) / 2 + (0.25 + 2.25) / 2))


@pytest.mark.parametrize("kind", ["bce", "lsgan"])
def test_list_inputs_average_over_scales(kind):
    loss = AdversarialLoss(kind)
    fine, coarse = torch.randn(2, 1, 14, 14), torch.randn(2, 1, 6, 6)
    real_fine, real_coarse = torch.randn(2, 1, 14, 14), torch.randn(2, 1, 6, 6)
    assert loss.generator([fine, coarse]).item() == pytest.approx(
        (loss.generator(fine).item() + loss.generator(coarse).item()) / 2
    )
    assert loss.discriminator([real_fine, real_coarse], [fine, coarse]).item() == pytest.approx(
        (loss.discriminator(real_fine, fine).item() + loss.discriminator(real_coarse, coarse).item()) / 2
    )


def test_bce_is_autocast_safe():
    loss = AdversarialLoss("bce")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = torch.nn.Linear(4, 1)(torch.randn(8, 4))
        value = loss.discriminator(logits, -logits)
    assert value.dtype == torch.float32 and torch.isfinite(value)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="kind"):
        AdversarialLoss("wgan")
    with pytest.raises(ValueError, match="scales"):
        AdversarialLoss().discriminator([torch.zeros(1)], [torch.zeros(1), torch.zeros(1)])
