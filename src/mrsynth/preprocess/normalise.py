"""Robust intensity normalisation: percentiles inside the brain mask map to [-1, 1]; background is -1."""

from __future__ import annotations

import numpy as np

from mrsynth.spec.preprocess import NormaliseSpec

BACKGROUND = -1.0


def robust_scale(array: np.ndarray, mask: np.ndarray, spec: NormaliseSpec) -> tuple[float, float]:
    """The (p_low, p_high) intensity percentiles inside the mask; raises ValueError if they coincide."""
    inside = array[mask]
    if inside.size == 0:
        raise ValueError("mask is empty")
    low, high = np.percentile(inside, [spec.p_low, spec.p_high])
    if not high > low:
        raise ValueError(f"intensities inside the mask have no spread (p{spec.p_low:g} = p{spec.p_high:g} = {low:g})")
    return float(low), float(high)


def normalise(array: np.ndarray, mask: np.ndarray, scale: tuple[float, float], clip: bool = True) -> np.ndarray:
    """Map `scale` (lo, hi) to (-1, 1) inside the mask, optionally clipped; voxels outside are -1."""
    low, high = scale
    scaled = (2.0 * (array.astype(np.float64) - low) / (high - low) - 1.0).astype(np.float32)
    if clip:
        np.clip(scaled, -1.0, 1.0, out=scaled)
    scaled[~mask] = BACKGROUND
    return scaled


def denormalise(array: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """Inverse of `normalise` (inside the mask): map [-1, 1] back to the original intensity scale."""
    low, high = scale
    return ((np.asarray(array, dtype=np.float64) + 1.0) * 0.5 * (high - low) + low).astype(np.float32)
