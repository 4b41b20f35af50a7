"""Slice-pair QC metrics for a whole volume pair, vectorised over slices (and a loop over offsets only).

Degenerate slices, identical in `reference_slice_metrics`:
- empty intersection mask M: ncc, mi, edge_corr NaN; dice NaN when both slice masks are empty;
- constant intensities over M (or a single voxel): ncc (and edge_corr when the gradients are
  constant) NaN, since a correlation is undefined; mi 0, since a constant carries no information;
- offsets whose target slice leaves the volume are skipped; a slice with no valid offset gets
  best_offset 0 and mi_delta NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mrsynth.qc.mi import Segments
from mrsynth.qc.offset import best_offsets, offset_mi_curves, slab_mean_curves
from mrsynth.qc.stack import as_slice_stack, in_plane_box, volume_mask

METRIC_COLUMNS = ["slice", "dice", "ncc", "mi", "edge_corr", "best_offset", "mi_delta", "brain_fraction"]
ROBUST_COLUMNS = ["slab_offset", "slab_mi_delta"]


def sobel_magnitude(stack: np.ndarray) -> np.ndarray:
    """`skimage.filters.sobel` of each 2D slice of an (n, h, w) stack (reflect borders), in float32.

    float32 keeps it fast; correlations of these magnitudes match float64 skimage to ~1e-8.
    """
    padded = np.pad(stack.astype(np.float32), ((0, 0), (1, 1), (1, 1)), mode="symmetric")
    along_rows = padded[:, 2:, :] - padded[:, :-2, :]
    along_rows = along_rows[:, :, :-2] + along_rows[:, :, 2:] + np.float32(2.0) * along_rows[:, :, 1:-1]
    along_cols = padded[:, :, 2:] - padded[:, :, :-2]
    along_cols = along_cols[:, :-2, :] + along_cols[:, 2:, :] + np.float32(2.0) * along_cols[:, 1:-1, :]
    along_rows *= along_rows
    along_cols *= along_cols
    along_rows += along_cols
    # each kernel carries a 1/4 smoothing weight, and skimage averages the two squared gradients
    along_rows /= np.float32(32.0)
    return np.sqrt(along_rows, out=along_rows)


def segment_pearson(x: np.ndarray, y: np.ndarray, segments: Segments) -> np.ndarray:
    """Pearson correlation of x and y within each group (two-pass, float64); NaN when undefined."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        x -= segments.spread(segments.reduce(np.add, x) / segments.counts)
        y -= segments.spread(segments.reduce(np.add, y) / segments.counts)
    sxy = segments.reduce(np.add, x * y)
    scale = np.sqrt(segments.reduce(np.add, x * x) * segments.reduce(np.add, y * y))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, np.clip(sxy / scale, -1.0, 1.0), np.nan)


def slice_pair_metrics(
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
    """One row per slice along `axis` whose brain_fraction ≥ min_brain_fraction, sorted by slice.

    Columns METRIC_COLUMNS (definitions in `mrsynth.qc`) then `slab_offset`, `slab_mi_delta`: the
    argmax and gain of the MI-vs-offset curve averaged over listed slices within ±slab_radius.
    """
    if source.shape != target.shape:
        raise ValueError(f"source shape {source.shape} differs from target shape {target.shape}")
    src_mask = as_slice_stack(volume_mask(source, source_mask), axis)
    tgt_mask = as_slice_stack(volume_mask(target, target_mask), axis)
    both = src_mask & tgt_mask
    fraction = np.count_nonzero(both, axis=(1, 2)) / float(both.shape[1] * both.shape[2])
    slices = np.flatnonzero(fraction >= min_brain_fraction)
    if slices.size == 0:
        integer = {"slice", "best_offset", "slab_offset"}
        return pd.DataFrame({c: pd.Series(dtype=int if c in integer else float) for c in METRIC_COLUMNS + ROBUST_COLUMNS})

    # only listed slices, their ±k neighbours and the in-plane box of the masks (+1 for Sobel) matter
    first, stop = max(int(slices[0]) - max_offset, 0), min(int(slices[-1]) + max_offset + 1, len(fraction))
    box = (slice(first, stop), *in_plane_box(src_mask | tgt_mask))
    src = np.ascontiguousarray(as_slice_stack(source, axis)[box], dtype=np.float32)
    tgt = np.ascontiguousarray(as_slice_stack(target, axis)[box], dtype=np.float32)
    src_mask, tgt_mask = np.ascontiguousarray(src_mask[box]), np.ascontiguousarray(tgt_mask[box])
    if not (np.isfinite(src).all() and np.isfinite(tgt).all()):
        raise ValueError("source or target has NaN or infinite values near the masks")
    rows = slices - first

    curves = offset_mi_curves(src, tgt, src_mask, tgt_mask, rows[0], rows[-1] + 1, max_offset, bins)
    curves = curves[rows - rows[0]]
    best, delta = best_offsets(curves, max_offset)
    slab_best, slab_delta = best_offsets(slab_mean_curves(curves, slices, slab_radius), max_offset)
    ncc, edge_corr = _correlations(src[rows], tgt[rows], src_mask[rows] & tgt_mask[rows])
    return pd.DataFrame(
        {
            "slice": slices,
            "dice": _dice(src_mask[rows], tgt_mask[rows]),
            "ncc": ncc,
            "mi": curves[:, max_offset],
            "edge_corr": edge_corr,
            "best_offset": best,
            "mi_delta": delta,
            "brain_fraction": fraction[slices],
            "slab_offset": slab_best,
            "slab_mi_delta": slab_delta,
        }
    )


def _dice(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    overlap = np.count_nonzero(a & b, axis=(1, 2))
    total = np.count_nonzero(a, axis=(1, 2)) + np.count_nonzero(b, axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 2.0 * overlap / total, np.nan)


def _correlations(src: np.ndarray, tgt: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per slice: Pearson of intensities and of Sobel magnitudes over the mask."""
    segments = Segments.of_mask(mask)
    ncc = segment_pearson(src[mask], tgt[mask], segments)
    edges = segment_pearson(sobel_magnitude(src)[mask], sobel_magnitude(tgt)[mask], segments)
    return ncc, edges
