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

from mrsynth.qc.figures import slice_figure
from mrsynth.qc.filter import apply_qc, qc_summary
from mrsynth.qc.metrics import METRIC_COLUMNS, ROBUST_COLUMNS, slice_pair_metrics
from mrsynth.qc.pair import QC_CSV_COLUMNS, qc_pair
from mrsynth.qc.reference import reference_slice_metrics
from mrsynth.qc.report import write_report

__all__ = [
    "METRIC_COLUMNS",
    "QC_CSV_COLUMNS",
    "ROBUST_COLUMNS",
    "apply_qc",
    "qc_pair",
    "qc_summary",
    "reference_slice_metrics",
    "slice_figure",
    "slice_pair_metrics",
    "write_report",
]
