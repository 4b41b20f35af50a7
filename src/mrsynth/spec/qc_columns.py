"""The QC metric table: each column of the slice-pair QC table, the `data.qc` threshold on it, and what it means.

Everything else that lists QC metrics derives from `QC_METRICS`: the spec's threshold ranges
(`mrsynth.spec.qc`), the filter's rules and reasons (`mrsynth.qc.filter`), the column order of the
kernel and its reference (`mrsynth.qc.metrics`, `mrsynth.qc.reference`), figure titles and the
report's legend. A new thresholdable metric is its kernel, its reference, one row here and the
`data.qc` field the row names. Plain Python: the spec layer imports it without numpy or pandas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Direction = Literal["lower", "upper", "absolute", "gate"]
"""How a threshold flags a slice: `lower` flags values below it, `upper` values above it, `absolute`
|value| above it; a NaN value fails all three. `gate` flags nothing itself: the rule whose `gate`
names this column fails only where this column reaches the threshold."""

_COMPARISON = {"lower": "<", "upper": ">"}


@dataclass(frozen=True)
class QCMetric:
    """One column of the slice QC table and, when `threshold` is set, the filter rule on it."""

    column: str
    description: str
    threshold: str | None = None
    """The `data.qc` field that sets the rule; None: the column is only reported."""
    direction: Direction | None = None
    threshold_range: tuple[float, float] = (-math.inf, math.inf)
    """Valid threshold values (low, high), bounds included; inf means unbounded."""
    gate: str | None = None
    """Column of a `gate` row that must also reach its threshold for this rule to flag a slice."""
    reason: str | None = None
    """Flag reason instead of `<column><threshold>` (e.g. `dice<0.8`)."""
    pooled: bool = False
    """Pooled over neighbouring slices: the robust estimates, after `flagged` and `reasons` in qc.csv."""
    integer: bool = False

    def flag_reason(self, threshold: float) -> str:
        """The label of a slice this rule flags (the NaN label is `<column>=nan`)."""
        if self.reason is not None:
            return self.reason
        return f"{self.column}{_COMPARISON[self.direction]}{threshold:g}"


QC_METRICS: tuple[QCMetric, ...] = (
    QCMetric("dice", "Dice overlap of the source and target slice masks",
             "min_dice", "lower", (0.0, 1.0)),
    QCMetric("ncc", "Pearson correlation of intensities over the intersection mask M",
             "min_ncc", "lower", (-1.0, 1.0)),
    QCMetric("mi", "mutual information (nats) of a bins×bins joint histogram over M",
             "min_mi", "lower", (0.0, math.inf)),
    QCMetric("edge_corr", "Pearson correlation over M of the Sobel gradient magnitudes",
             "min_edge_corr", "lower", (-1.0, 1.0)),
    QCMetric("best_offset", "target slice offset d in -k..k whose MI with the source slice is highest",
             integer=True),
    QCMetric("mi_delta", "MI gain (nats) of best_offset over offset 0"),
    QCMetric("brain_fraction", "fraction of the slice inside M",
             "min_brain_fraction", "lower", (0.0, 1.0)),
    QCMetric("slab_offset", "best offset of the median bias-corrected MI curve of slices within ±2",
             "max_abs_offset", "absolute", (0, math.inf), gate="slab_mi_delta", reason="offset", pooled=True,
             integer=True),
    QCMetric("slab_mi_delta", "bias-corrected MI gain (nats) of slab_offset over offset 0",
             "min_mi_delta", "gate", (0.0, math.inf), pooled=True),
)
"""Every QC metric column, in the order of the kernel's table."""

VOLUME_THRESHOLDS: dict[str, tuple[str, ...]] = {"max_motion_score": ("source_motion_score", "target_motion_score")}
"""`data.qc` thresholds on whole volumes, not slice columns: field → the per-volume columns it reads."""
