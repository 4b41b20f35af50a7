"""Volumes as stacks of 2D slices: axis handling, default masks, and the cropped block the metrics work on."""

from __future__ import annotations

from dataclasses import dataclass

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
    return mask if mask.dtype == bool else mask != 0


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


@dataclass(frozen=True)
class Survey:
    """Per slice along the axis: voxels in both masks, and which in-plane rows and columns either mask uses."""

    both: np.ndarray  # (n,) intp
    rows_used: np.ndarray  # (n, h) bool
    cols_used: np.ndarray  # (n, w) bool


def survey(volumes: tuple[np.ndarray, np.ndarray], masks: tuple[np.ndarray | None, np.ndarray | None], axis: int) -> Survey:
    """Masks of both volumes reduced in memory order: per-slice overlap counts and in-plane projections."""
    source, target = (volume_mask(v, m) for v, m in zip(volumes, masks, strict=True))
    rows_axis, cols_axis = (a for a in range(3) if a != axis)
    both = (source & target).sum(axis=(rows_axis, cols_axis), dtype=np.intp)
    union = source | target

    def used(reduced_axis: int, kept_axis: int) -> np.ndarray:
        """(n, len of kept_axis): whether any masked voxel lies on that row or column of each slice."""
        projection = union.any(axis=reduced_axis)  # the two remaining axes, in their original order
        return projection if axis < kept_axis else projection.T

    return Survey(both, used(cols_axis, rows_axis), used(rows_axis, cols_axis))


class SliceBlock:
    """Slices first..stop-1 along `axis`, cropped in-plane to a box, as contiguous (n, h, w) stacks.

    Padding makes every stack exactly `pad_slices` slices wider on both ends than first..stop-1
    (empty, masks False, where the volume ends) and one pixel wider than the masks' in-plane box
    (mirrored where the volume ends, as skimage's reflect mode), so shifted views and 3×3 filters
    never leave the arrays.
    """

    def __init__(self, found: Survey, axis: int, first: int, stop: int, pad_slices: int):
        self.axis, self.first, self.stop, self.pad = axis, first, stop, pad_slices
        self.z_from, self.z_to = max(first - pad_slices, 0), min(stop + pad_slices, len(found.both))
        self.rows = self._box(found.rows_used[self.z_from : self.z_to].any(axis=0))
        self.cols = self._box(found.cols_used[self.z_from : self.z_to].any(axis=0))

    @staticmethod
    def _box(used: np.ndarray) -> tuple[int, int, int, int]:
        """(start, stop, pad_before, pad_after) of the used range plus one pixel, clipped to the volume."""
        index = np.flatnonzero(used)
        if index.size == 0:
            return 0, 1, 1, 1
        start, stop = int(index[0]) - 1, int(index[-1]) + 2
        return max(start, 0), min(stop, used.size), max(-start, 0), max(stop - used.size, 0)

    def crop(self, volume: np.ndarray, dtype: type) -> np.ndarray:
        """The block of one volume (or mask) as a contiguous stack of `dtype`."""
        (r0, r1, rb, ra), (c0, c1, cb, ca) = self.rows, self.cols
        stack = as_slice_stack(volume, self.axis)[self.z_from : self.z_to, r0:r1, c0:c1]
        out = np.ascontiguousarray(stack, dtype=dtype) if dtype is not bool else stack != 0
        z_pad = (self.z_from - (self.first - self.pad), (self.stop + self.pad) - self.z_to)
        if any(z_pad) or rb or ra or cb or ca:
            # masks pad with False; images mirror in-plane (skimage's reflect) and take zeros beyond the volume
            out = np.pad(out, ((0, 0), (rb, ra), (cb, ca)), mode="constant" if dtype is bool else "symmetric")
            out = np.pad(out, (z_pad, (0, 0), (0, 0)), mode="constant")
        return out

    def crop_mask(self, volume: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """The block of a volume's mask: the given mask's non-zero voxels, else the volume's."""
        return self.crop(volume if mask is None else mask, bool)
