"""Volumes as stacks of 2D slices: axis handling, default masks and in-plane cropping."""

from __future__ import annotations

import numpy as np


def as_slice_stack(volume: np.ndarray, axis: int) -> np.ndarray:
    """The volume with the slicing axis first, so `stack[z]` is slice z (a view, no copy)."""
    if volume.ndim != 3:
        raise ValueError(f"expected a 3D volume, got shape {volume.shape}")
    return np.moveaxis(volume, axis, 0)


def volume_mask(volume: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The given mask as bool, or the non-zero voxels of the volume when no mask is given."""
    if mask is None:
        return volume != 0
    if mask.shape != volume.shape:
        raise ValueError(f"mask shape {mask.shape} differs from volume shape {volume.shape}")
    return mask.astype(bool, copy=False)


def in_plane_box(mask_stack: np.ndarray, margin: int = 1) -> tuple[slice, slice]:
    """Rows and columns that hold every masked voxel of any slice, plus `margin` so 3×3 filters see real data."""
    rows = np.flatnonzero(mask_stack.any(axis=(0, 2)))
    cols = np.flatnonzero(mask_stack.any(axis=(0, 1)))
    if rows.size == 0:  # nothing masked: one pixel keeps the arrays non-empty, every metric is NaN
        return slice(0, 1), slice(0, 1)
    height, width = mask_stack.shape[1:]
    return (
        slice(max(rows[0] - margin, 0), min(rows[-1] + margin + 1, height)),
        slice(max(cols[0] - margin, 0), min(cols[-1] + margin + 1, width)),
    )
