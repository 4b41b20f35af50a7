"""Batched mutual information: one joint histogram per slice, all slices in one `bincount`.

Binning rule (shared by the per-slice reference), in float32: over the slice's mask, values x of
one image with min lo and max hi get bin min(trunc((x - lo) * (bins / (hi - lo))), bins - 1);
a constant image (hi == lo) puts every voxel in bin 0, which gives MI 0.
"""

from __future__ import annotations

import numpy as np


class Segments:
    """Consecutive groups of a flat array of masked voxels: group i holds slice i's counts[i] voxels."""

    def __init__(self, counts: np.ndarray):
        self.counts = counts
        self.filled = counts > 0
        self.starts = (np.cumsum(counts) - counts)[self.filled]

    @classmethod
    def of_mask(cls, mask: np.ndarray) -> Segments:
        """Groups of `stack[mask]` for an (n, h, w) boolean mask (row-major order)."""
        return cls(np.count_nonzero(mask.reshape(mask.shape[0], -1), axis=1))

    def reduce(self, ufunc: np.ufunc, values: np.ndarray, empty: float = np.nan) -> np.ndarray:
        """`ufunc` reduced within each group; `empty` for groups with no voxel."""
        out = np.full(self.counts.shape, empty, dtype=np.result_type(values.dtype, np.float32))
        if self.starts.size:
            out[self.filled] = ufunc.reduceat(values, self.starts)
        return out

    def spread(self, per_group: np.ndarray) -> np.ndarray:
        """Each group's value repeated for each of its voxels (cheaper than fancy indexing)."""
        return np.repeat(per_group, self.counts)


def bin_labels(values: np.ndarray, segments: Segments, bins: int) -> np.ndarray:
    """int32 bin index of each float32 value, each group binned between its own min and max (module doc)."""
    lows = segments.reduce(np.minimum, values)
    widths = segments.reduce(np.maximum, values) - lows
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = np.where(widths > 0, np.float32(bins) / widths, np.float32(0.0)).astype(np.float32)
    scaled = values - segments.spread(lows)
    scaled *= segments.spread(scales)
    labels = scaled.astype(np.int32)
    return np.minimum(labels, bins - 1, out=labels)


def mi_from_counts(joint: np.ndarray) -> np.ndarray:
    """Mutual information in nats of each joint histogram in a (n, bins, bins) stack; NaN where empty.

    Computed from integer counts, sum c/N log(c N / (a b)), so a constant image gives exactly 0.
    """
    joint = joint.astype(np.float64)
    total = joint.sum(axis=(1, 2), keepdims=True)
    rows, cols = joint.sum(axis=2, keepdims=True), joint.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log(joint * total / (rows * cols)), 0.0)
        mi = np.clip(terms.sum(axis=(1, 2)) / total[:, 0, 0], 0.0, None)
    # one occupied bin on either axis: no information, whatever the rounding (as sklearn)
    single = (np.count_nonzero(rows[:, :, 0], axis=1) <= 1) | (np.count_nonzero(cols[:, 0, :], axis=1) <= 1)
    mi = np.where(single, 0.0, mi)
    return np.where(total[:, 0, 0] > 0, mi, np.nan)


def masked_slice_mi(source: np.ndarray, target: np.ndarray, mask: np.ndarray, bins: int) -> np.ndarray:
    """MI between source[i] and target[i] over mask[i] for each slice i of (n, h, w) float32 stacks."""
    n = mask.shape[0]
    segments = Segments.of_mask(mask)
    # joint-histogram cell of each voxel, offset by its slice so one bincount fills every histogram
    code = bin_labels(source[mask], segments, bins)
    code *= bins
    code += bin_labels(target[mask], segments, bins)
    code += segments.spread(np.arange(n, dtype=np.int32) * np.int32(bins * bins))
    joint = np.bincount(code, minlength=n * bins * bins)
    return mi_from_counts(joint.reshape(n, bins, bins))
