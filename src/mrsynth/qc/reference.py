"""Per-slice loop implementation of the QC metrics: slow and plain, the yardstick for tests and benchmarks.

Same definitions and degenerate-slice rules as `mrsynth.qc.metrics`, computed one slice (and one
offset) at a time on full slices with numpy, `skimage.filters.sobel` and
`sklearn.metrics.mutual_info_score`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from skimage.filters import sobel
from sklearn.metrics import mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

from mrsynth.qc.metrics import METRIC_COLUMNS, ROBUST_COLUMNS


def _bin(values: np.ndarray, bins: int) -> np.ndarray:
    values = values.astype(np.float32)
    low, width = values.min(), values.max() - values.min()
    scale = np.float32(bins) / width if width > 0 else np.float32(0.0)
    return np.minimum(((values - low) * scale).astype(np.int64), bins - 1)


def _mi(a: np.ndarray, b: np.ndarray, mask: np.ndarray, bins: int) -> tuple[float, float]:
    """(plug-in MI, MI minus its Miller–Madow bias (occupied cells - rows - columns + 1) / 2N) over the mask."""
    if not mask.any():
        return float("nan"), float("nan")
    x, y = _bin(a[mask], bins), _bin(b[mask], bins)
    table = contingency_matrix(x, y, sparse=True)  # one row per occupied x bin, one column per occupied y bin
    mi = float(mutual_info_score(None, None, contingency=table))
    occupied = table.nnz - table.shape[0] - table.shape[1] + 1
    return mi, mi - occupied / (2.0 * x.size)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 2:
        return float("nan")
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.corrcoef(a.astype(np.float64), b.astype(np.float64))[0, 1])


def _best(curve: dict[int, float]) -> tuple[int, float]:
    """Highest-MI offset, ties to the smallest |d| then the negative d; (0, NaN) when none is valid."""
    best, best_mi = 0, -np.inf
    for d in sorted(curve, key=lambda d: (abs(d), d)):
        if not np.isnan(curve[d]) and curve[d] > best_mi:
            best, best_mi = d, curve[d]
    if best_mi == -np.inf:
        return 0, float("nan")
    return best, float(curve[best] - curve.get(0, np.nan))


def _slice_row(s, t, ms, mt, z, curve, bins) -> dict:
    m = ms[z] & mt[z]
    total = ms[z].sum() + mt[z].sum()
    best, delta = _best(curve)
    return {
        "slice": z,
        "dice": 2.0 * m.sum() / total if total else float("nan"),
        "ncc": _pearson(s[z][m], t[z][m]),
        "mi": curve[0],
        "edge_corr": _pearson(sobel(s[z].astype(np.float64))[m], sobel(t[z].astype(np.float64))[m]),
        "best_offset": best,
        "mi_delta": delta,
        "brain_fraction": m.mean(),
    }


def reference_slice_metrics(
    source: np.ndarray,
    target: np.ndarray,
    source_mask: np.ndarray | None = None,
    target_mask: np.ndarray | None = None,
    axis: int = 2,
    max_offset: int = 2,
    bins: int = 32,
    min_brain_fraction: float = 0.1,
    slab_radius: int = 2,
) -> pd.DataFrame:
    """Same table as `slice_pair_metrics`, one slice and one offset at a time."""
    s, t = np.moveaxis(source, axis, 0), np.moveaxis(target, axis, 0)
    ms = np.moveaxis(source != 0 if source_mask is None else source_mask.astype(bool), axis, 0)
    mt = np.moveaxis(target != 0 if target_mask is None else target_mask.astype(bool), axis, 0)
    listed = [z for z in range(s.shape[0]) if (ms[z] & mt[z]).mean() >= min_brain_fraction]
    curves, corrected = {}, {}
    for z in listed:
        pairs = {
            d: _mi(s[z], t[z + d], ms[z] & mt[z + d], bins)
            for d in range(-max_offset, max_offset + 1)
            if 0 <= z + d < s.shape[0]
        }
        curves[z] = {d: mi for d, (mi, _) in pairs.items()}
        corrected[z] = {d: unbiased for d, (_, unbiased) in pairs.items()}
    rows = [_slice_row(s, t, ms, mt, z, curves[z], bins) for z in listed]
    for row in rows:
        row["slab_offset"], row["slab_mi_delta"] = _best(_slab_curve(corrected, row["slice"], slab_radius))
    return pd.DataFrame(rows, columns=METRIC_COLUMNS + ROBUST_COLUMNS)


def _slab_curve(curves: dict[int, dict[int, float]], z: int, radius: int) -> dict[int, float]:
    """Median, per offset, of the valid (bias-corrected) MI values of listed slices z-radius..z+radius."""
    slab: dict[int, float] = {}
    for d in sorted({d for zz in curves for d in curves[zz]}):
        values = [curves[zz][d] for zz in range(z - radius, z + radius + 1) if zz in curves and d in curves[zz]]
        values = [v for v in values if not np.isnan(v)]
        if values:
            slab[d] = float(np.median(values))
    return slab
