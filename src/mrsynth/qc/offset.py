"""Neighbour-offset search: MI of source slice z against target slice z+d, raw and slab-pooled.

Raw (`best_offset`, `mi_delta`): argmax over d of one slice's MI curve. At 1 mm this is noisy
(neighbouring slices are nearly as similar), so the robust estimate (`slab_offset`,
`slab_mi_delta`) averages the MI-vs-offset curves of the listed slices within ±slab_radius of z
(NaN-aware: offsets that leave the volume are simply missing) and takes the argmax of that mean.
A real misalignment shifts a whole slab consistently; per-slice noise averages out.
Ties go to the smallest |d|, then to the negative d: the order 0, -1, +1, -2, +2, ...

Measured with radius 2 and the default rule (|slab_offset| > 1 and slab_mi_delta >= 0.02): clean
TCGA-DU-7294 t1/t2 and BraTS-GLI-00001 t1c/t2w flag 2% and 0% of brain slices; with the target
rolled by 3 slices (k = 4), 93% and 100%, and the pooled offset moves by exactly +3.
"""

from __future__ import annotations

import numpy as np

from mrsynth.qc.mi import masked_slice_mi


def offsets(max_offset: int) -> np.ndarray:
    """The searched offsets -k..k in column order of a curve matrix."""
    return np.arange(-max_offset, max_offset + 1)


def offset_mi_curves(
    source: np.ndarray,
    target: np.ndarray,
    source_mask: np.ndarray,
    target_mask: np.ndarray,
    first: int,
    stop: int,
    max_offset: int,
    bins: int,
) -> np.ndarray:
    """(stop - first, 2k+1) MI of source slice z vs target slice z+d for z in first..stop-1.

    NaN where z+d leaves the volume. Works on contiguous slice ranges, so every stack is a view.
    """
    n_slices = source.shape[0]
    curves = np.full((stop - first, 2 * max_offset + 1), np.nan)
    for column, d in enumerate(offsets(max_offset)):
        lo, hi = max(first, -d), min(stop, n_slices - d)
        if hi <= lo:
            continue
        pair_mask = source_mask[lo:hi] & target_mask[lo + d : hi + d]
        curves[lo - first : hi - first, column] = masked_slice_mi(
            source[lo:hi], target[lo + d : hi + d], pair_mask, bins
        )
    return curves


def _search_order(max_offset: int) -> np.ndarray:
    """Curve columns in tie-break order: d = 0, -1, +1, -2, +2, ..."""
    ds = sorted(offsets(max_offset), key=lambda d: (abs(d), d))
    return np.asarray(ds) + max_offset


def best_offsets(curves: np.ndarray, max_offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the offset of highest MI (0 when the curve is all NaN) and its MI minus the MI at 0."""
    order = _search_order(max_offset)
    ordered = np.where(np.isnan(curves[:, order]), -np.inf, curves[:, order])
    best_columns = order[np.argmax(ordered, axis=1)]
    rows = np.arange(curves.shape[0])
    delta = curves[rows, best_columns] - curves[:, max_offset]
    return best_columns - max_offset, delta


def slab_mean_curves(curves: np.ndarray, slices: np.ndarray, radius: int) -> np.ndarray:
    """Mean MI curve over the listed slices within ±radius of each slice (NaN entries ignored)."""
    if slices.size == 0:
        return curves.copy()
    # dense per-slice rows with `radius` padding on both ends, so every window is in bounds
    dense = np.full((int(slices.max()) + 1 + 2 * radius, curves.shape[1]), np.nan)
    dense[slices + radius] = curves
    sums = np.zeros_like(curves)
    counts = np.zeros_like(curves)
    for shift in range(-radius, radius + 1):
        neighbour = dense[slices + radius + shift]
        present = ~np.isnan(neighbour)
        sums += np.where(present, neighbour, 0.0)
        counts += present
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)
