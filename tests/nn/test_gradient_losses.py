from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from mrsynth.nn import gradient_difference_loss, ngf_loss, normalized_gradient_field


def _phantom(side: int = 48) -> np.ndarray:
    """Smooth-edged discs (tanh edges ~1.5 px wide), like tissue boundaries in a [-1, 1] slice."""
    y, x = np.mgrid[0:side, 0:side].astype(float)
    image = np.zeros((side, side))
    for cy, cx, radius, amplitude in [(24, 24, 15, 0.8), (20, 20, 5, -0.6), (29, 28, 4, 0.5), (24, 32, 3, -0.4)]:
        image += amplitude * 0.5 * (1 + np.tanh((radius - np.hypot(y - cy, x - cx)) / 1.5))
    return image


def _window(image: np.ndarray, dy: int = 0, dx: int = 0) -> torch.Tensor:
    """The central 32x32 window moved by (dy, dx): the content shifts without wrap-around or padding."""
    return torch.tensor(image[8 + dy:40 + dy, 8 + dx:40 + dx], dtype=torch.float32).view(1, 1, 32, 32)


# --- gradient difference loss ---

@pytest.mark.parametrize("shape", [(2, 1, 16, 16), (2, 1, 8, 10, 12)])
def test_gdl_is_zero_for_identical_and_positive_for_shifted(shape):
    torch.manual_seed(0)
    image = torch.randn(*shape)
    assert gradient_difference_loss(image, image.clone()).item() == 0.0
    assert gradient_difference_loss(torch.roll(image, 1, dims=-1), image).item() > 0


def test_gdl_on_hand_made_example():
    target = torch.tensor([[0.0, 1.0, 3.0], [0.0, 0.0, 0.0]]).view(1, 1, 2, 3)
    pred = torch.zeros_like(target)
    # vertical differences 0, 1, 3 (squares mean 10/3); horizontal 1, 2, 0, 0 (squares mean 5/4)
    assert gradient_difference_loss(pred, target).item() == pytest.approx(10 / 3 + 5 / 4)
    assert gradient_difference_loss(pred, target, p=1.0).item() == pytest.approx(4 / 3 + 3 / 4)


def test_gdl_compares_magnitudes_so_inversion_and_offset_are_free():
    torch.manual_seed(1)
    target = torch.randn(1, 1, 12, 12)
    assert gradient_difference_loss(-target + 0.4, target).item() == pytest.approx(0.0, abs=1e-6)
    assert gradient_difference_loss(2 * target, target).item() > 0


@pytest.mark.parametrize("ndim", [2, 3])
def test_gdl_gradient_flows(ndim):
    torch.manual_seed(2)
    pred = torch.randn(1, 1, *(8,) * ndim, requires_grad=True)
    gradient_difference_loss(pred, torch.randn(1, 1, *(8,) * ndim)).backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0


def test_gdl_mask_keeps_only_pairs_inside():
    torch.manual_seed(3)
    pred, target = torch.randn(1, 1, 10, 10, requires_grad=True), torch.randn(1, 1, 10, 10)
    mask = torch.zeros(1, 1, 10, 10, dtype=torch.bool)
    mask[..., 2:7, 3:8] = True
    gradient_difference_loss(pred, target, mask=mask).backward()
    assert torch.all(pred.grad[~mask] == 0) and pred.grad[mask].abs().sum() > 0
    outside_changed = target.clone()
    outside_changed[~mask] += 5.0
    assert gradient_difference_loss(pred, outside_changed, mask=mask).item() == pytest.approx(
        gradient_difference_loss(pred, target, mask=mask).item()
    )


def test_gdl_bad_arguments_are_named():
    with pytest.raises(ValueError, match="one shape"):
        gradient_difference_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        gradient_difference_loss(torch.zeros(4, 4), torch.zeros(4, 4))
    with pytest.raises(ValueError, match="p must be"):
        gradient_difference_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), p=0)


# --- normalized gradient field loss ---

def test_ngf_on_hand_made_ramps():
    eps = 0.15
    ramp_x = torch.arange(6.0).repeat(6, 1).view(1, 1, 6, 6)  # central difference 1 along x, 0 along y
    field = normalized_gradient_field(ramp_x, eps)
    assert field.shape == (1, 1, 2, 4, 4)
    assert torch.allclose(field[:, :, 1], torch.full((1, 1, 4, 4), 1 / (1 + eps)))  # literal ∇I / (‖∇I‖ + ε)
    assert ngf_loss(ramp_x, ramp_x.transpose(-1, -2), eps).item() == pytest.approx(1.0)  # orthogonal edges
    inner = 2 / ((1 + eps) * (2 + eps))
    assert ngf_loss(ramp_x, -2 * ramp_x, eps).item() == pytest.approx(1 - 0.5 * inner**2)


def test_ngf_contrast_change_beats_moved_structures():
    image = _phantom()
    source = _window(image)
    affine = [source, -source, -2 * source + 0.3, 3 * source - 1]
    noise = 0.05 * torch.from_numpy(np.random.default_rng(0).standard_normal((1, 1, 32, 32))).float()
    perturbed = [_window(image, 0, 1), _window(image, 0, 2), _window(image, 1, 1),
                 _window(gaussian_filter(image, 1.0)), _window(gaussian_filter(image, 2.0)), source + noise]
    affine_losses = [ngf_loss(source, out).item() for out in affine]
    perturbed_losses = [ngf_loss(source, out).item() for out in perturbed]
    assert ngf_loss(source, -2 * source + 0.3).item() <= ngf_loss(source, _window(image, 0, 2)).item()
    assert max(affine_losses) < min(perturbed_losses)
    assert all(0.5 <= value <= 1.0 for value in affine_losses + perturbed_losses)


def test_ngf_with_tiny_eps_is_blind_to_any_affine_contrast():
    image = _phantom()
    source = _window(image)
    affine = [ngf_loss(source, a * source + b, eps=1e-6).item() for a, b in [(1, 0), (-1, 0), (-2, 0.3), (0.5, -1)]]
    shifted = ngf_loss(source, _window(image, 0, 1), eps=1e-6).item()
    assert max(affine) - min(affine) < 1e-3
    assert shifted > max(affine) + 0.01


def test_ngf_grows_with_shift():
    image = _phantom()
    source = _window(image)
    losses = [ngf_loss(source, _window(image, 0, shift)).item() for shift in range(4)]
    diagonal = [ngf_loss(source, _window(image, shift, shift)).item() for shift in range(4)]
    assert losses == sorted(losses) and len(set(losses)) == 4
    assert diagonal == sorted(diagonal) and len(set(diagonal)) == 4


def test_ngf_three_d_and_masked():
    torch.manual_seed(4)
    volume = torch.from_numpy(gaussian_filter(np.random.default_rng(4).standard_normal((20, 20, 20)), 2.0))
    source = volume[2:18, 2:18, 2:18].float().view(1, 1, 16, 16, 16)
    moved = volume[2:18, 2:18, 3:19].float().view(1, 1, 16, 16, 16)
    assert ngf_loss(source, moved, eps=0.01).item() > ngf_loss(source, -3 * source, eps=0.01).item()
    mask = torch.zeros(1, 1, 16, 16, 16, dtype=torch.bool)
    mask[..., 4:10, 4:10, 4:10] = True
    changed = source.clone()
    changed[..., :, :, 13:] = 0.0  # far from the mask, its central differences never reach it
    assert ngf_loss(source, changed, mask=mask).item() == pytest.approx(ngf_loss(source, source, mask=mask).item())


def test_ngf_gradient_is_finite_on_flat_regions():
    source = _window(_phantom())
    output = torch.zeros(1, 1, 32, 32, requires_grad=True)
    flat_loss = ngf_loss(source, output)
    flat_loss.backward()
    assert flat_loss.item() == pytest.approx(1.0) and torch.isfinite(output.grad).all()
    output = (0.1 * source).requires_grad_(True)
    ngf_loss(source, output).backward()
    assert torch.isfinite(output.grad).all() and output.grad.abs().sum() > 0


def test_ngf_bad_arguments_are_named():
    with pytest.raises(ValueError, match="eps"):
        ngf_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), eps=0)
    with pytest.raises(ValueError, match=">= 3"):
        ngf_loss(torch.zeros(1, 1, 2, 4), torch.zeros(1, 1, 2, 4))
    with pytest.raises(ValueError, match="one shape"):
        ngf_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 5, 4))
