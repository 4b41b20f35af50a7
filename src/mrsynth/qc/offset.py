"""Neighbour-offset search: MI of source slice z against target slice z+d, raw and slab-pooled.

MI(z, d) is computed over the intersection of source slice z's mask and target slice z+d's mask
(NaN where z+d leaves the volume or the intersection is empty), so shifting the target shifts
every curve exactly. Plug-in MI is biased upwards when a `bins`×`bins` histogram holds few
voxels, and the intersection shrinks towards the ends of the brain: with 32 bins and the demo's
64×64 slices (400-1300 brain voxels) that bias favoured the outermost target slice, and the
offset rule (then on uncorrected curves) flagged 17 of 119 clean slices, all at the ends of the
brain; with 16 bins, none (so specs over the 3.5 mm demo set data.qc.bins to 16).

Raw (`best_offset`, `mi_delta`): argmax over d of one slice's MI curve. At 1 mm this is noisy
(neighbouring slices are nearly as similar: on clean TCGA-DU-7294 t1/t2, best_offset is 0 on 76%
of brain slices; on BraTS-GLI-00001 t1n/t2f 42%, within ±1 on 85%), so the robust estimate
(`slab_offset`, `slab_mi_delta`) pools neighbours: per offset, the median over the listed slices
within ±slab_radius of z (NaN-aware: offsets that leave the volume are simply missing) of the
bias-corrected MI, MI(z, d) - `plugin_bias` (Miller–Madow: (occupied cells - occupied rows -
occupied columns + 1) / 2N, about 0.03 nats for 32 bins and 15,000 voxels), then the argmax of
that median curve. A real misalignment shifts a whole slab consistently; per-slice noise is
outvoted. The correction matters because each offset is scored over its own intersection, whose
size N changes with d: uncorrected, the smaller intersection looks more informative (on rolled
TCGA t1c/t2 the pooled offset read +4 for a +3 roll). A median, not a mean: a slice next to a
misaligned run is judged by the majority of its slab, so flags stop at the run's edges instead of
smearing across them (on the demo with 16 bins and max_abs_offset 0, mean pooling missed the
first or last slice of two shifted runs; median none).
Ties go to the smallest |d|, then to the negative d: the order 0, -1, +1, -2, +2, ...

Measured with radius 2 and the default rule (|slab_offset| > 1 and slab_mi_delta >= 0.02), clean
and with the target rolled by 3 slices (k = 4): TCGA-DU-7294 t1/t2, t1c/t2, flair/t2, t1/t1c flag
3.3/0/0/2.2% clean and 93/91/100/100% rolled, pooled and raw median offset +3. A pair that is
itself off along z keeps that offset: BraTS-GLI-00001 t1c/t2w (0% clean, 98% rolled) has median
-1 clean and +2 rolled, as whole-volume MI over sub-slice shifts (-0.5) and gradient correlation
(-1.25) say it should.
"""

from __future__ import annotations

import warnings

import numpy as np


def offsets(max_offset: int) -> np.ndarray:
    """The searched offsets -k..k in column order of a curve matrix."""
    return np.arange(-max_offset, max_offset + 1)


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


def slab_median_curves(curves: np.ndarray, slices: np.ndarray, radius: int) -> np.ndarray:
    """Per offset, the median MI over the listed slices within ±radius of each slice (NaN entries ignored)."""
    if slices.size == 0:
        return curves.copy()
    # dense per-slice rows with `radius` padding on both ends, so every window is in bounds
    dense = np.full((int(slices.max()) + 1 + 2 * radius, curves.shape[1]), np.nan)
    dense[slices + radius] = curves
    window = np.stack([dense[slices + radius + shift] for shift in range(-radius, radius + 1)], axis=1)
    with warnings.catch_warnings():  # an all-NaN column is expected (offset never searched): NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(window, axis=1)
