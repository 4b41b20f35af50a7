from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from mrsynth.metrics import evaluate_slices, mae, psnr, ssim, ssim_map


def _pair(shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    target = rng.uniform(-1, 1, shape)
    pred = np.clip(target + rng.normal(0, 0.3, shape), -1, 1)
    return pred.astype(dtype), target.astype(dtype)


def _ellipse_mask(shape):
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    return sum(g**2 for g in grids) < 0.6


@pytest.mark.parametrize("shape", [(32, 40), (16, 24, 20)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_whole_image_equals_skimage(shape, dtype):
    pred, target = _pair(shape, dtype=dtype)
    assert psnr(pred, target) == pytest.approx(peak_signal_noise_ratio(target, pred, data_range=2.0), abs=1e-6)
    assert ssim(pred, target) == pytest.approx(structural_similarity(target, pred, data_range=2.0), abs=1e-6)
    assert mae(pred, target) == pytest.approx(np.abs(pred.astype(float) - target).mean(), abs=1e-6)


def test_data_range_is_passed_through():
    pred, target = _pair((24, 24), seed=3)
    pred, target = (pred + 1) / 2, (target + 1) / 2
    assert psnr(pred, target, data_range=1.0) == pytest.approx(
        peak_signal_noise_ratio(target, pred, data_range=1.0), abs=1e-6)
    assert ssim(pred, target, data_range=1.0) == pytest.approx(
        structural_similarity(target, pred, data_range=1.0), abs=1e-6)


@pytest.mark.parametrize("shape", [(32, 40), (16, 24, 20)])
def test_masked_psnr_and_mae_use_mask_pixels_only(shape):
    pred, target = _pair(shape, seed=1)
    mask = _ellipse_mask(shape)
    error = pred[mask] - target[mask]
    assert mae(pred, target, mask) == pytest.approx(np.abs(error).mean(), abs=1e-12)
    assert psnr(pred, target, mask) == pytest.approx(10 * np.log10(4.0 / np.mean(error**2)), abs=1e-9)
    # changing pixels outside the mask changes nothing
    pred_outside = np.where(mask, pred, 5.0)
    assert psnr(pred_outside, target, mask) == psnr(pred, target, mask)
    assert mae(pred_outside, target, mask) == mae(pred, target, mask)


@pytest.mark.parametrize("shape", [(32, 40), (16, 24, 20)])
def test_masked_ssim_is_mean_of_skimage_map_over_interior_mask(shape):
    pred, target = _pair(shape, seed=2)
    mask = _ellipse_mask(shape)
    mask[(0,) * len(shape)] = True  # a border pixel, inside skimage's ignored strip
    _, full = structural_similarity(target, pred, data_range=2.0, full=True)
    interior = np.zeros(shape, dtype=bool)
    interior[tuple(slice(3, n - 3) for n in shape)] = True
    assert ssim(pred, target, mask) == pytest.approx(full[mask & interior].mean(), abs=1e-9)
    assert ssim(pred, target, np.ones(shape, bool)) == pytest.approx(ssim(pred, target), abs=1e-12)


def test_empty_mask_gives_nan_and_identical_images_give_inf():
    pred, target = _pair((16, 16))
    empty = np.zeros((16, 16), bool)
    assert np.isnan(psnr(pred, target, empty)) and np.isnan(mae(pred, target, empty))
    assert np.isnan(ssim(pred, target, empty))
    assert psnr(target, target) == np.inf
    assert ssim(target, target) == pytest.approx(1.0)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"\(8, 8\) and \(8, 9\)"):
        psnr(np.zeros((8, 8)), np.zeros((8, 9)))
    with pytest.raises(ValueError, match="mask"):
        mae(np.zeros((8, 8)), np.zeros((8, 8)), np.ones((4, 4)))
    with pytest.raises(ValueError, match="at least 7"):
        ssim(np.zeros((5, 8)), np.zeros((5, 8)))


def test_ssim_map_over_slice_axes_equals_per_slice_skimage():
    pred, target = _pair((4, 20, 24), seed=4)
    stacked = ssim_map(pred, target, axes=(1, 2))
    for i in range(4):
        _, full = structural_similarity(target[i], pred[i], data_range=2.0, full=True)
        np.testing.assert_allclose(stacked[i], full, atol=1e-12)


def test_evaluate_slices_definitions():
    pred, target = _pair((5, 24, 24), seed=5)
    masks = np.stack([_ellipse_mask((24, 24))] * 5)
    masks[0] = False  # a slice without brain
    result = evaluate_slices(pred, target, masks)
    assert set(result) == {"psnr", "ssim", "mae", "psnr_brain", "ssim_brain", "mae_brain"}
    mse = np.mean((pred - target) ** 2)
    assert result["psnr"] == pytest.approx(10 * np.log10(4.0 / mse), abs=1e-9)
    per_slice = [structural_similarity(target[i], pred[i], data_range=2.0) for i in range(5)]
    assert result["ssim"] == pytest.approx(np.mean(per_slice), abs=1e-9)
    assert result["mae"] == pytest.approx(np.abs(pred - target).mean(), abs=1e-12)
    brain_error = pred[masks] - target[masks]
    assert result["psnr_brain"] == pytest.approx(10 * np.log10(4.0 / np.mean(brain_error**2)), abs=1e-9)
    assert result["mae_brain"] == pytest.approx(np.abs(brain_error).mean(), abs=1e-12)
    maps = np.stack([structural_similarity(target[i], pred[i], data_range=2.0, full=True)[1] for i in range(5)])
    interior = np.zeros(masks.shape, bool)
    interior[:, 3:-3, 3:-3] = True
    assert result["ssim_brain"] == pytest.approx(maps[masks & interior].mean(), abs=1e-9)


def test_evaluate_slices_needs_a_stack():
    pred, target = _pair((24, 24))
    with pytest.raises(ValueError, match="stack"):
        evaluate_slices(pred, target, np.ones((24, 24), bool))
