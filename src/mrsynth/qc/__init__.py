"""Slice-pair QC: metrics of paired source/target slices, a threshold filter, figures and reports.

Per slice z along the slicing axis, with M the intersection of the source and target slice masks
(a volume's mask is its non-zero voxels when no mask is given):
- dice: Dice of the two slice masks;
- ncc: Pearson correlation of intensities over M;
- mi: mutual information (nats) of a `bins`×`bins` joint histogram over M, each image binned
  between its own min and max over M (binning rule in `mrsynth.qc.mi`);
- edge_corr: Pearson correlation over M of the Sobel magnitudes (`skimage.filters.sobel` of each slice);
- best_offset, mi_delta: argmax over d in -k..k of MI(source z, target z+d), each over the
  intersection of those two slices' masks; gain over d = 0;
- brain_fraction: |M| / slice size;
- slab_offset, slab_mi_delta: the same on the per-offset median of the bias-corrected MI curves of
  neighbouring slices, the robust estimate the offset rule of the filter uses (`mrsynth.qc.offset`).
Each column with its `data.qc` threshold and range: `mrsynth.spec.qc_columns`. Degenerate slices: see
`mrsynth.qc.metrics`. The per-slice `reference_slice_metrics` gives the same table, slowly.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "METRIC_COLUMNS": "metrics",
    "QC_CSV_COLUMNS": "pair",
    "ROBUST_COLUMNS": "metrics",
    "apply_qc": "filter",
    "qc_pair": "pair",
    "qc_summary": "filter",
    "reference_slice_metrics": "reference",
    "slice_figure": "figures",
    "slice_pair_metrics": "metrics",
    "write_report": "report",
}
"""Public name → its module. Imported on first use: `mrsynth qc-pair` loads neither the reference
(scikit-learn) nor the figures unless it needs them."""

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'mrsynth.qc' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mrsynth.qc.{_HOMES[name]}"), name)
