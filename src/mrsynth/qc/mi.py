"""Batched mutual information: one joint histogram per slice, a run of slices in one `bincount`.

Binning rule (shared by the per-slice reference), in float32: over the slice's mask, values x of
one image with min lo and max hi get bin min(trunc((x - lo) * (bins / (hi - lo))), bins - 1);
a constant image (hi == lo) puts every voxel in bin 0, which gives MI 0.
"""

from __future__ import annotations

import numpy as np


def slice_counts_of(mask: np.ndarray) -> np.ndarray:
    """True voxels of each slice of an (n, h, w) bool stack.

    One whole-slice count_nonzero per slice: its axis= form casts every element and is ~10x slower.
    """
    return np.fromiter((np.count_nonzero(m) for m in mask), dtype=np.intp, count=len(mask))


class Segments:
    """Consecutive groups of a flat array of masked voxels: group i holds slice i's counts[i] voxels."""

    def __init__(self, counts: np.ndarray):
        self.counts = counts
        self.filled = counts > 0
        self.starts = (np.cumsum(counts) - counts)[self.filled]

    @classmethod
    def of_mask(cls, mask: np.ndarray) -> Segments:
        """Groups of `stack[mask]` for an (n, h, w) boolean mask (row-major order)."""
        return cls(slice_counts_of(mask))

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
    """intp bin index of each float32 value, each group binned between its own min and max (module doc).

    Not yet clipped: a group's maximum gets index `bins`, which `joint_histograms` folds into
    bins - 1 (one pass over a histogram instead of one over every voxel). Overwrites `values`.
    """
    lows = segments.reduce(np.minimum, values)
    widths = segments.reduce(np.maximum, values) - lows
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = np.where(widths > 0, np.float32(bins) / widths, np.float32(0.0)).astype(np.float32)
    values -= segments.spread(lows)
    values *= segments.spread(scales)
    return values.astype(np.intp)


def _x_log_x(largest: int) -> np.ndarray:
    """c·log(c) for every count c in 0..largest (0 for c = 0)."""
    counts = np.arange(largest + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counts > 0, counts * np.log(counts), 0.0)


def histogram_mi(joint: np.ndarray) -> np.ndarray:
    """Mutual information in nats of each (bins, bins) joint histogram in a (..., bins, bins) stack; NaN where empty.

    From integer counts c (row sums a, column sums b, total N) as (Σc·log c - Σa·log a - Σb·log b) / N + log N,
    with c·log c looked up, not recomputed; a single occupied row or column gives exactly 0.
    """
    lead, bins = joint.shape[:-2], joint.shape[-1]
    flat = joint.reshape(-1, bins * bins)
    rows, cols = joint.sum(axis=-1).reshape(-1, bins), joint.sum(axis=-2).reshape(-1, bins)
    total = rows.sum(axis=1)
    table = _x_log_x(int(total.max(initial=0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = table[flat].sum(axis=1) - table[rows].sum(axis=1) - table[cols].sum(axis=1)
        mi = np.clip(spread / total + np.log(total), 0.0, None)
    # one occupied bin on either axis: no information, whatever the rounding (as sklearn)
    single = (np.count_nonzero(rows, axis=1) <= 1) | (np.count_nonzero(cols, axis=1) <= 1)
    mi = np.where(single, 0.0, mi)
    return np.where(total > 0, mi, np.nan).reshape(lead)


def cell_base(source_bins: np.ndarray, segments: Segments, bins: int) -> np.ndarray:
    """intp histogram cell of each voxel before its target bin is added: (group · (bins+1) + source bin) · (bins+1)."""
    side = bins + 1  # room for the unclipped top bin
    base = segments.spread(np.arange(len(segments.counts), dtype=np.intp) * side)
    base += source_bins
    base *= side
    return base


def joint_histograms(base: np.ndarray, target_bins: np.ndarray, n_groups: int, bins: int) -> np.ndarray:
    """(n_groups, bins, bins) counts of (source bin, target bin) pairs, from `cell_base` and unclipped target bins.

    Adds `base` into `target_bins`.
    """
    side = bins + 1
    target_bins += base
    counts = np.bincount(target_bins, minlength=n_groups * side * side).reshape(n_groups, side, side)
    counts[:, bins - 1, :] += counts[:, bins, :]  # fold each group's maximum into the last bin
    counts[:, :, bins - 1] += counts[:, :, bins]
    return counts[:, :bins, :bins]


def pair_histograms(source: np.ndarray, target: np.ndarray, segments: Segments, bins: int) -> np.ndarray:
    """(n, bins, bins) joint histograms of paired float32 values within each group; overwrites both arrays."""
    base = cell_base(bin_labels(source, segments, bins), segments, bins)
    return joint_histograms(base, bin_labels(target, segments, bins), len(segments.counts), bins)
