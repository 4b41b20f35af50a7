"""The QC metric table: one row per kernel column, one row per slice threshold of `data.qc`, ranges enforced."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from mrsynth.qc.metrics import slice_pair_metrics
from mrsynth.spec.qc import PARAMETER_RANGES, QCSpec
from mrsynth.spec.qc_columns import QC_METRICS, VOLUME_THRESHOLDS

THRESHOLDED = [metric for metric in QC_METRICS if metric.threshold]


def slice_threshold_fields() -> set[str]:
    """`min_*`/`max_*` fields of `data.qc` that threshold a slice metric: not search settings, not volume-level."""
    bounded = {name for name in QCSpec.model_fields if name.startswith(("min_", "max_"))}
    return bounded - set(PARAMETER_RANGES) - set(VOLUME_THRESHOLDS)


def test_every_slice_threshold_field_has_a_row_and_every_row_threshold_a_field():
    assert slice_threshold_fields() == {metric.threshold for metric in THRESHOLDED}


def test_settings_and_volume_thresholds_are_fields_but_no_row_thresholds():
    other = set(PARAMETER_RANGES) | set(VOLUME_THRESHOLDS)
    assert other <= set(QCSpec.model_fields)
    assert not other & {metric.threshold for metric in THRESHOLDED}


def test_the_kernel_computes_exactly_the_table_columns():
    rng = np.random.default_rng(0)
    source = rng.uniform(1.0, 2.0, size=(16, 16, 16)).astype(np.float32)
    target = (source + rng.normal(scale=0.1, size=source.shape)).astype(np.float32)
    table = slice_pair_metrics(source, target)
    assert len(table) == 16
    assert sorted(table.columns) == sorted(["slice", *(metric.column for metric in QC_METRICS)])


def test_every_thresholded_row_has_a_rule_and_gates_name_gate_rows():
    by_column = {metric.column: metric for metric in QC_METRICS}
    assert len(by_column) == len(QC_METRICS)
    assert all(metric.direction is not None for metric in THRESHOLDED)
    gates = [metric.gate for metric in QC_METRICS if metric.gate]
    assert all(by_column[gate].direction == "gate" for gate in gates)


@pytest.mark.parametrize("metric", THRESHOLDED, ids=lambda metric: metric.threshold)
def test_the_spec_rejects_a_threshold_outside_its_rows_range(metric):
    low, high = metric.threshold_range
    outside = [low - 1] + ([high + 1] if math.isfinite(high) else [])
    for value in outside:
        with pytest.raises(ValidationError) as caught:
            QCSpec(**{metric.threshold: value})
        assert caught.value.errors()[0]["loc"] == (metric.threshold,)
