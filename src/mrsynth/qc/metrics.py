"""Slice-pair QC metrics for a whole volume pair, vectorised over slices (`mrsynth.qc.runs` does the work).

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

from mrsynth.qc.mi import histogram_mi, plugin_bias
from mrsynth.qc.offset import best_offsets, slab_median_curves
from mrsynth.qc.runs import block_metrics
from mrsynth.qc.stack import SliceBlock, fortran_ordered, survey
from mrsynth.spec.qc_columns import QC_METRICS

METRIC_COLUMNS = ["slice", *(metric.column for metric in QC_METRICS if not metric.pooled)]
ROBUST_COLUMNS = [metric.column for metric in QC_METRICS if metric.pooled]
_INTEGER_COLUMNS = {"slice", *(metric.column for metric in QC_METRICS if metric.integer)}


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

    Columns METRIC_COLUMNS then ROBUST_COLUMNS, in the order of `mrsynth.spec.qc_columns.QC_METRICS`
    (definitions there and in `mrsynth.qc`); `slab_offset`, `slab_mi_delta` pool the bias-corrected MI
    curves of listed slices within ±slab_radius (`mrsynth.qc.offset`).
    """
    if source.shape != target.shape:
        raise ValueError(f"source shape {source.shape} differs from target shape {target.shape}")
    found = survey((source, target), (source_mask, target_mask), axis)
    plane = np.prod(source.shape) // source.shape[axis]
    fraction = found.both / float(plane)
    slices = np.flatnonzero(fraction >= min_brain_fraction)
    if slices.size == 0:
        columns = METRIC_COLUMNS + ROBUST_COLUMNS
        return pd.DataFrame({c: pd.Series(dtype=int if c in _INTEGER_COLUMNS else float) for c in columns})

    # listed slices first..last, k slices either side for the offset search, in-plane box of the masks
    transposed = fortran_ordered(source, target)  # NIfTI data: crop slices from the transposes, no strided reads
    block = SliceBlock(found, source.shape, axis, int(slices[0]), int(slices[-1]) + 1, max_offset, transposed)
    (src, src_mask), (tgt, tgt_mask) = block.crop(source, source_mask), block.crop(target, target_mask)
    # NaN or ±inf anywhere makes a min or max non-finite: two fast reductions per image
    if not np.isfinite([src.min(initial=0), src.max(initial=0), tgt.min(initial=0), tgt.max(initial=0)]).all():
        raise ValueError("source or target has NaN or infinite values near the masks")
    stacks = (src, tgt, src_mask, tgt_mask)
    rows = slices - slices[0]  # listed rows among first..last (all of them unless a slice dips below the fraction)
    joint, (dice, ncc, edge_corr) = block_metrics(stacks, max_offset, bins)
    curves = histogram_mi(joint[rows])
    best, delta = best_offsets(curves, max_offset)
    corrected = curves - plugin_bias(joint[rows])  # offsets compare MI over different intersections
    slab_best, slab_delta = best_offsets(slab_median_curves(corrected, slices, slab_radius), max_offset)
    return pd.DataFrame(
        {
            "slice": slices,
            "dice": dice[rows],
            "ncc": ncc[rows],
            "mi": curves[:, max_offset],
            "edge_corr": edge_corr[rows],
            "best_offset": best,
            "mi_delta": delta,
            "brain_fraction": fraction[slices],
            "slab_offset": slab_best,
            "slab_mi_delta": slab_delta,
        }
    )
