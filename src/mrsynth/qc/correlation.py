"""Per-slice correlations over masked voxels: Pearson of intensities and of Sobel gradient magnitudes."""

from __future__ import annotations

import numpy as np

from mrsynth.qc.mi import Segments

CONSTANT = 1e-12
"""A group whose variance about its pivot is below this fraction of its sum of squares is constant."""


def interior_sobel_magnitude(stack: np.ndarray) -> np.ndarray:
    """`skimage.filters.sobel` of each slice of an (n, h, w) float32 stack, times sqrt(32), at its (n, h-2, w-2) interior.

    Callers pad the stack by one pixel (mirrored at the volume's edge, as skimage's reflect mode).
    The constant factor leaves every correlation unchanged and saves a pass; float32 keeps it fast,
    and correlations of these magnitudes match float64 skimage to ~1e-8.
    """
    across = stack[:, :, 2:] - stack[:, :, :-2]  # difference along columns, then [1, 2, 1] along rows
    along_cols = across[:, :-2] + across[:, 2:]
    along_cols += across[:, 1:-1]
    along_cols += across[:, 1:-1]
    down = stack[:, 2:, :] - stack[:, :-2, :]
    along_rows = down[:, :, :-2] + down[:, :, 2:]
    along_rows += down[:, :, 1:-1]
    along_rows += down[:, :, 1:-1]
    along_cols *= along_cols
    along_rows *= along_rows
    along_cols += along_rows
    return np.sqrt(along_cols, out=along_cols)


def _about_pivot(values: np.ndarray, segments: Segments) -> np.ndarray:
    """float64 values minus their group's float32 mean: near-centred, so one-pass sums lose no precision."""
    with np.errstate(invalid="ignore", divide="ignore"):
        pivots = segments.reduce(np.add, values) / segments.counts
    return np.subtract(values, segments.spread(pivots.astype(values.dtype)), dtype=np.float64)


def segment_pearson(x: np.ndarray, y: np.ndarray, segments: Segments) -> np.ndarray:
    """Pearson correlation of x and y within each group (float64 sums); NaN when undefined (a constant group)."""
    x, y = _about_pivot(x, segments), _about_pivot(y, segments)
    n = segments.counts
    sx, sy = segments.reduce(np.add, x), segments.reduce(np.add, y)
    sxx, syy = segments.reduce(np.add, np.square(x)), segments.reduce(np.add, np.square(y))
    x *= y
    sxy = segments.reduce(np.add, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        vx, vy = sxx - sx * sx / n, syy - sy * sy / n
        r = (sxy - sx * sy / n) / np.sqrt(vx * vy)
        return np.where((vx > CONSTANT * sxx) & (vy > CONSTANT * syy), np.clip(r, -1.0, 1.0), np.nan)
