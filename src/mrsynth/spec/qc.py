"""The `data.qc` section: which slice pairs the QC filter drops, and how the metrics are computed.

Defaults are chosen so that clean co-registered cross-contrast pairs keep (almost) every brain
slice: measured on real T1/T2, T1/FLAIR and template pairs, the lowest clean-slice values were
mi 0.14 nats and edge_corr 0.25, dice 1.0 with shared masks; ncc of T1 vs T2 is negative.
"""

from __future__ import annotations

import math

from pydantic import Field, model_serializer, model_validator

from mrsynth.spec.base import StrictModel
from mrsynth.spec.qc_columns import QC_METRICS

PARAMETER_RANGES: dict[str, tuple[float, float]] = {"max_offset": (0, math.inf), "bins": (2, math.inf)}
"""Valid (low, high) of the fields that set how the metrics are computed, not thresholds on them."""

METRIC_RANGES: dict[str, tuple[float, float]] = {
    metric.threshold: metric.threshold_range for metric in QC_METRICS if metric.threshold
} | PARAMETER_RANGES
"""Valid (low, high) of each numeric QC field, bounds included; inf means unbounded."""


def _bounds(name: str) -> dict[str, float]:
    low, high = METRIC_RANGES[name]
    return {"ge": low} | ({} if math.isinf(high) else {"le": high})


class QCSpec(StrictModel):
    """Slice-pair QC: a slice is flagged when any enabled rule fails; `null` turns a rule off."""

    enabled: bool = True
    """false keeps every slice (the "baseline" experiments); metrics are still computed and reported."""

    min_dice: float | None = Field(0.8, **_bounds("min_dice"))
    """Flag when the Dice overlap of the source and target slice masks is below this."""

    min_ncc: float | None = Field(None, **_bounds("min_ncc"))
    """Flag when the Pearson correlation of intensities over the intersection mask is below this.
    Off by default: cross-contrast pairs are legitimately anti-correlated (T1 vs T2 ncc ≈ -0.3 to -0.8);
    set it (e.g. 0.3) for same-contrast pairs such as 3T→7T T1."""

    min_mi: float | None = Field(0.05, **_bounds("min_mi"))
    """Flag when the mutual information (nats, `bins`×`bins` joint histogram over the mask) is below this."""

    min_edge_corr: float | None = Field(0.1, **_bounds("min_edge_corr"))
    """Flag when the correlation of Sobel gradient magnitudes over the mask is below this (contrast-agnostic)."""

    max_abs_offset: int | None = Field(1, **_bounds("max_abs_offset"))
    """Flag as `offset` when the slab-pooled best neighbour offset |slab_offset| exceeds this
    (and its MI gain reaches `min_mi_delta`); must be below `max_offset` to ever fire."""

    min_mi_delta: float | None = Field(0.02, **_bounds("min_mi_delta"))
    """MI gain (nats, slab_mi_delta) the best offset needs over offset 0 to count; null: any gain counts."""

    min_brain_fraction: float | None = Field(0.1, **_bounds("min_brain_fraction"))
    """Flag slices whose intersection mask covers less than this fraction of the slice."""

    max_offset: int = Field(2, **_bounds("max_offset"))
    """Search radius k: MI is computed against target slices z-k..z+k."""

    bins: int = Field(32, **_bounds("bins"))
    """Histogram bins per axis for mutual information."""

    max_motion_score: float | None = Field(None, gt=0)
    """Volume-level filter: flag every slice of a subject whose source or target volume's predicted motion
    score (mm RMS deviation, see `motion_model`) exceeds this, with reason `motion`; null: off."""

    motion_model: str | None = Field(None, min_length=1)
    """A finished `motion_qc` run (registry spec name, or a spec-hash / run-id prefix) that scores each
    source/target volume once (cached); without `max_motion_score` the scores are only reported."""

    @model_validator(mode="after")
    def _motion_filter_has_a_model(self) -> QCSpec:
        if self.max_motion_score is not None and self.motion_model is None:
            raise ValueError(f"max_motion_score needs motion_model (a finished motion_qc run) (got {self.max_motion_score:g})")
        return self

    @model_serializer(mode="wrap")
    def _omit_unused_motion_filter(self, handler):
        """Specs that do not use the motion filter keep the hash they had before it existed."""
        data = handler(self)
        if self.motion_model is None and self.max_motion_score is None:
            data.pop("max_motion_score", None)
            data.pop("motion_model", None)
        return data

    @model_validator(mode="after")
    def _offset_rule_can_fire(self) -> QCSpec:
        if self.max_abs_offset is not None and self.max_abs_offset >= self.max_offset:
            raise ValueError(
                f"max_abs_offset must be < max_offset ({self.max_offset}) or null, else the offset rule "
                f"never fires (got {self.max_abs_offset})"
            )
        return self
