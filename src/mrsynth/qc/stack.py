"""Volumes as stacks of 2D slices: axis handling, default masks, and the cropped block the metrics work on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COPY_SLICES = 16
"""Slices per copy step: when the slicing axis is the last in memory, 16 float32 fill a 64-byte line."""


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


@dataclass(frozen=True)
class Survey:
    """Voxels in both masks per slice along the axis, and the in-plane box (slice frame) of either mask."""

    both: np.ndarray  # (n,) intp
    rows: tuple[int, int]  # first, stop of the rows any mask uses, over all slices
    cols: tuple[int, int]


def _mask_source(volume: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """What defines a volume's mask: a float32 volume itself (its non-zero voxels), else a bool mask."""
    return volume if mask is None and volume.dtype == np.float32 else volume_mask(volume, mask)


def fortran_ordered(*arrays: np.ndarray) -> bool:
    """Whether all are Fortran-ordered (as NIfTI data is) and not also C-ordered: their transposes are C-ordered."""
    return all(a.flags.f_contiguous for a in arrays) and not all(a.flags.c_contiguous for a in arrays)


def _in_memory_order(a: np.ndarray, b: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Both as C-contiguous arrays, transposed rather than copied when both are Fortran-ordered; the axis in
    that frame, and whether it is transposed."""
    if fortran_ordered(a, b):
        return a.T, b.T, a.ndim - 1 - axis, True
    return np.ascontiguousarray(a), np.ascontiguousarray(b), axis, False


def survey(volumes: tuple[np.ndarray, np.ndarray], masks: tuple[np.ndarray | None, np.ndarray | None], axis: int) -> Survey:
    """Per-slice overlap counts and the in-plane box of the union of two volumes' masks, in one compiled pass."""
    from mrsynth.qc.native import loops  # the compiled loops load on first use, not on import

    a, b = (_mask_source(v, m) for v, m in zip(volumes, masks, strict=True))
    if a.dtype != b.dtype:  # one mask given, one taken from a volume: compare as masks
        a, b = a != 0, b != 0
    a, b, memory_axis, transposed = _in_memory_order(a, b, axis)
    both = np.empty(a.shape[memory_axis], np.int64)
    plane = np.empty(tuple(size for i, size in enumerate(a.shape) if i != memory_axis), bool)
    loops().mask_survey(a, b, memory_axis, both, plane)
    plane = plane.T if transposed else plane  # the other two axes back in the volume's order
    rows, cols = np.flatnonzero(plane.any(axis=1)), np.flatnonzero(plane.any(axis=0))
    if rows.size == 0:  # nothing masked: every slice has an empty overlap
        return Survey(both, (0, 1), (0, 1))
    return Survey(both, (int(rows[0]), int(rows[-1]) + 1), (int(cols[0]), int(cols[-1]) + 1))


class SliceBlock:
    """Slices first..stop-1 along `axis`, cropped in-plane to a box, as contiguous (n, h, w) stacks.

    Padding makes every stack exactly `pad_slices` slices wider on both ends than first..stop-1
    (empty, masks False, where the volume ends) and one pixel wider than the masks' in-plane box
    (mirrored where the volume ends, as skimage's reflect mode), so shifted views and 3×3 filters
    never leave the arrays. `transposed` crops from the volumes' transposes (cheap for
    Fortran-ordered volumes): each slice comes out transposed, which no metric can tell.
    """

    def __init__(self, found: Survey, shape: tuple[int, ...], axis: int, first: int, stop: int, pad_slices: int,
                 transposed: bool = False):
        self.first, self.stop, self.pad, self.transposed = first, stop, pad_slices, transposed
        self.z_from, self.z_to = max(first - pad_slices, 0), min(stop + pad_slices, shape[axis])
        height, width = (size for a, size in enumerate(shape) if a != axis)
        self.rows, self.cols = self._with_rim(found.rows, height), self._with_rim(found.cols, width)
        self.axis = len(shape) - 1 - axis if transposed else axis
        if transposed:
            self.rows, self.cols = self.cols, self.rows

    @staticmethod
    def _with_rim(used: tuple[int, int], size: int) -> tuple[int, int, int, int]:
        """(start, stop, pad_before, pad_after) of the used range plus one pixel, clipped to the volume."""
        start, stop = used[0] - 1, used[1] + 1
        return max(start, 0), min(stop, size), max(-start, 0), max(stop - size, 0)

    def _copy(self, volume: np.ndarray, dtype: type) -> np.ndarray:
        """The block's slices and box of one volume, unpadded, as a contiguous stack of `dtype`."""
        (r0, r1, _, _), (c0, c1, _, _) = self.rows, self.cols
        frame = volume.T if self.transposed else volume
        stack = as_slice_stack(frame, self.axis)[self.z_from : self.z_to, r0:r1, c0:c1]
        out = np.empty(stack.shape, dtype)
        for z in range(0, len(stack), COPY_SLICES):  # a few slices at a time: reads stay in cache lines
            out[z : z + COPY_SLICES] = stack[z : z + COPY_SLICES]  # to bool: non-zero, as `volume != 0`
        return out

    def _padded(self, block: np.ndarray) -> np.ndarray:
        """Masks pad with False; images mirror in-plane (skimage's reflect) and take zeros beyond the volume."""
        (_, _, rb, ra), (_, _, cb, ca) = self.rows, self.cols
        z_pad = (self.z_from - (self.first - self.pad), (self.stop + self.pad) - self.z_to)
        if any(z_pad) or rb or ra or cb or ca:
            block = np.pad(block, ((0, 0), (rb, ra), (cb, ca)), mode="constant" if block.dtype == bool else "symmetric")
            block = np.pad(block, (z_pad, (0, 0), (0, 0)), mode="constant")
        return block

    def crop(self, volume: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(float32 image, bool mask) blocks of one volume: its mask is the given one, else its non-zero voxels."""
        image = self._copy(volume, np.float32)
        if mask is None and volume.dtype == np.float32:
            mask_block = image != 0  # same voxels as the volume's, from the smaller contiguous block
        else:
            mask_block = self._copy(volume if mask is None else mask, bool)
        return self._padded(image), self._padded(mask_block)
