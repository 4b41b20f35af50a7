"""Image-quality metrics for synthesis evaluation: PSNR, SSIM and MAE, whole-image or inside a mask.

Whole-image values equal scikit-image's `peak_signal_noise_ratio`, `structural_similarity`
(uniform 7-wide window, sample covariance, K1=0.01, K2=0.03) and the mean absolute error.
Masked definitions:
- PSNR and MAE use the pixels inside the mask only (MSE and mean |error| over those pixels).
- SSIM is the mean of the full SSIM map over the mask pixels that lie at least 3 pixels (half the
  window) from the array's edge: the same border scikit-image leaves out of its mean, so an
  all-true mask gives exactly the whole-image SSIM.
An empty mask gives NaN for every metric. Arrays are computed in float64.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter

__all__ = ["SSIM_WINDOW", "evaluate_slices", "mae", "psnr", "ssim", "ssim_map"]

SSIM_WINDOW = 7
_K1, _K2 = 0.01, 0.03


def _as_pair(pred, target) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape; got {pred.shape} and {target.shape}")
    return pred, target


def _as_mask(mask, shape: tuple[int, ...]) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask).astype(bool)
    if mask.shape != shape:
        raise ValueError(f"mask must have the image's shape {shape}; got {mask.shape}")
    return mask


def _mean_over(values: np.ndarray, mask: np.ndarray | None) -> float:
    if mask is None:
        return float(values.mean())
    return float(values[mask].mean()) if mask.any() else float("nan")


def _psnr_from_mse(mse: float, data_range: float) -> float:
    if np.isnan(mse):
        return float("nan")
    return float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def mae(pred, target, mask=None) -> float:
    """Mean absolute error, over the mask's pixels if a mask is given."""
    pred, target = _as_pair(pred, target)
    return _mean_over(np.abs(pred - target), _as_mask(mask, pred.shape))


def psnr(pred, target, mask=None, data_range: float = 2.0) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(data_range^2 / MSE); inf if identical."""
    pred, target = _as_pair(pred, target)
    mse = _mean_over(np.square(pred - target), _as_mask(mask, pred.shape))
    return _psnr_from_mse(mse, data_range)


def ssim_map(pred, target, data_range: float = 2.0, axes: tuple[int, ...] | None = None) -> np.ndarray:
    """scikit-image's full SSIM map, windowed over `axes` only (default: every axis).

    Windowing over the last two axes of an (S, H, W) stack gives each slice's 2D SSIM map in one
    vectorised pass.
    """
    pred, target = _as_pair(pred, target)
    axes = tuple(range(pred.ndim)) if axes is None else tuple(a % pred.ndim for a in axes)
    too_small = [pred.shape[a] for a in axes if pred.shape[a] < SSIM_WINDOW]
    if too_small:
        raise ValueError(f"SSIM needs sides of at least {SSIM_WINDOW} pixels; got shape {pred.shape}")
    size = tuple(SSIM_WINDOW if a in axes else 1 for a in range(pred.ndim))
    n_window = SSIM_WINDOW ** len(axes)
    cov_norm = n_window / (n_window - 1)  # sample covariance, as scikit-image's default

    def local_mean(image):
        return uniform_filter(image, size=size)

    mu_p, mu_t = local_mean(pred), local_mean(target)
    var_p = cov_norm * (local_mean(pred * pred) - mu_p * mu_p)
    var_t = cov_norm * (local_mean(target * target) - mu_t * mu_t)
    cov = cov_norm * (local_mean(pred * target) - mu_p * mu_t)
    c1, c2 = (_K1 * data_range) ** 2, (_K2 * data_range) ** 2
    return ((2 * mu_p * mu_t + c1) * (2 * cov + c2)) / ((mu_p**2 + mu_t**2 + c1) * (var_p + var_t + c2))


def _interior(shape: tuple[int, ...], axes: tuple[int, ...]) -> np.ndarray:
    """True away from the window's half-width border along `axes` (scikit-image's crop)."""
    pad = (SSIM_WINDOW - 1) // 2
    inside = np.zeros(shape, dtype=bool)
    inside[tuple(slice(pad, n - pad) if a in axes else slice(None) for a, n in enumerate(shape))] = True
    return inside


def _masked_ssim(pred, target, mask, data_range: float, axes: tuple[int, ...]) -> float:
    full = ssim_map(pred, target, data_range, axes)
    inside = _interior(full.shape, axes)
    mask = _as_mask(mask, full.shape)
    return _mean_over(full, inside if mask is None else inside & mask)


def ssim(pred, target, mask=None, data_range: float = 2.0) -> float:
    """Structural similarity over all axes of a 2D or 3D array (3D uses a 7x7x7 window)."""
    pred, target = _as_pair(pred, target)
    return _masked_ssim(pred, target, mask, data_range, tuple(range(pred.ndim)))


def evaluate_slices(preds, targets, masks, data_range: float = 2.0) -> dict[str, float]:
    """Summary metrics for one subject's stack of 2D slices, shaped (S, H, W).

    PSNR and MAE pool every voxel of the stack (one MSE for the subject, not a mean of per-slice
    PSNRs, which infinite slices would break). SSIM is computed per slice with a 2D window; `ssim`
    is the mean of the per-slice SSIMs, and `ssim_brain` the mean of the per-slice SSIM maps over
    all mask pixels of the stack (slices weigh by their brain area; brainless slices drop out).
    `*_brain` values use `masks`; they are NaN if every mask is empty.
    """
    preds, targets = _as_pair(preds, targets)
    if preds.ndim != 3:
        raise ValueError(f"evaluate_slices needs a (slices, height, width) stack; got shape {preds.shape}")
    masks = _as_mask(masks, preds.shape)
    slice_axes = (1, 2)
    return {
        "psnr": psnr(preds, targets, data_range=data_range),
        "ssim": _masked_ssim(preds, targets, None, data_range, slice_axes),
        "mae": mae(preds, targets),
        "psnr_brain": psnr(preds, targets, masks, data_range=data_range),
        "ssim_brain": _masked_ssim(preds, targets, masks, data_range, slice_axes),
        "mae_brain": mae(preds, targets, masks),
    }


def edge_correlation(a, b, mask=None) -> float:
    """Pearson correlation of the in-plane Sobel gradient magnitudes of two (S, H, W) stacks, over `mask`.

    Structure faithfulness of a translation: edges of the output should sit where the source's edges
    are, whatever the contrast. Pixels of every slice are pooled; NaN if the mask is empty or flat."""
    from scipy import ndimage

    a, b = _as_pair(a, b)
    magnitudes = [np.hypot(ndimage.sobel(x, axis=1), ndimage.sobel(x, axis=2)) for x in (a, b)]
    mask = _as_mask(mask, a.shape)
    ga, gb = (m[mask] if mask is not None else m.ravel() for m in magnitudes)
    if ga.size < 2 or ga.std() == 0 or gb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ga, gb)[0, 1])
