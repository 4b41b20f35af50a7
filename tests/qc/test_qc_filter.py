"""The QC filter: reasons per rule, NaN handling, switched-off rules, and the per-subject summary."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mrsynth.errors import DataError
from mrsynth.qc.filter import apply_qc, qc_summary
from mrsynth.spec.qc import QCSpec
from mrsynth.spec.qc_columns import QC_METRICS, QCMetric


def metrics_table() -> pd.DataFrame:
    good = dict(dice=0.95, ncc=0.6, mi=0.4, edge_corr=0.5, best_offset=0, mi_delta=0.0, brain_fraction=0.3,
                slab_offset=0, slab_mi_delta=0.0)
    rows = [
        dict(good, subject="a", slice=10),
        dict(good, subject="a", slice=11, ncc=0.1),
        dict(good, subject="a", slice=12, ncc=0.1, dice=0.5),
        dict(good, subject="a", slice=13, slab_offset=-2, slab_mi_delta=0.05, best_offset=2, mi_delta=0.1),
        dict(good, subject="b", slice=20, slab_offset=2, slab_mi_delta=0.001),  # gain too small to count
        dict(good, subject="b", slice=21, edge_corr=np.nan),
        dict(good, subject="b", slice=22, mi=0.01, brain_fraction=0.05),
    ]
    return pd.DataFrame(rows)


QC = QCSpec(min_dice=0.8, min_ncc=0.2, min_mi=0.05, min_edge_corr=0.1, max_abs_offset=1, min_mi_delta=0.02,
            min_brain_fraction=0.1)


def test_each_rule_names_its_metric_and_threshold():
    out = apply_qc(metrics_table(), QC)
    assert out["reasons"].tolist() == [
        "", "ncc<0.2", "dice<0.8;ncc<0.2", "offset", "", "edge_corr=nan", "mi<0.05;brain_fraction<0.1",
    ]
    assert out["flagged"].tolist() == [False, True, True, True, False, True, True]
    assert out["flagged"].dtype == bool


RULES = [metric for metric in QC_METRICS if metric.threshold and metric.direction != "gate"]
GATES = [metric for metric in QC_METRICS if metric.direction == "gate"]
ALL_RULES_OFF = {metric.threshold: None for metric in QC_METRICS if metric.threshold}


def threshold_and_ends(metric: QCMetric) -> tuple[float, float, float]:
    """(a threshold inside the row's range, the range's low end, its high end or low + 2 when unbounded)."""
    low, high = metric.threshold_range
    high = high if math.isfinite(high) else low + 2
    return (low + high) / 2, low, high


def kept_and_flagged(metric: QCMetric) -> tuple[float, float, float]:
    """(threshold, a value the row's rule keeps, a value it flags)."""
    threshold, low, high = threshold_and_ends(metric)
    kept, flagged = {"lower": (high, low), "upper": (low, high), "absolute": (0, -high)}[metric.direction]
    return threshold, kept, flagged


def two_slices(column: str, values: list[float]) -> pd.DataFrame:
    """Two otherwise good slices whose `column` holds `values`."""
    table = metrics_table().iloc[[0, 0]].reset_index(drop=True)
    table[column] = values
    return table


@pytest.mark.parametrize("metric", RULES, ids=lambda metric: metric.column)
def test_each_table_rule_flags_the_violating_slice_with_the_tables_reason(metric):
    threshold, kept, flagged = kept_and_flagged(metric)
    qc = QCSpec(**ALL_RULES_OFF | {metric.threshold: threshold})
    reasons = apply_qc(two_slices(metric.column, [kept, flagged]), qc)["reasons"].tolist()
    assert reasons == ["", metric.flag_reason(threshold)]
    assert metric.reason or reasons[1].startswith(metric.column)  # no fixed reason: named by the column


@pytest.mark.parametrize("metric", RULES, ids=lambda metric: metric.column)
def test_each_table_rule_flags_a_nan_value_named_by_the_column(metric):
    threshold, kept, _ = kept_and_flagged(metric)
    qc = QCSpec(**ALL_RULES_OFF | {metric.threshold: threshold})
    reasons = apply_qc(two_slices(metric.column, [kept, np.nan]), qc)["reasons"].tolist()
    assert reasons == ["", f"{metric.column}=nan"]


@pytest.mark.parametrize("gate", GATES, ids=lambda metric: metric.column)
def test_a_gate_below_its_threshold_keeps_a_slice_its_rule_would_flag(gate):
    rule = next(metric for metric in RULES if metric.gate == gate.column)
    threshold, _, flagged = kept_and_flagged(rule)
    gate_threshold, below, above = threshold_and_ends(gate)
    table = two_slices(rule.column, [flagged, flagged]).assign(**{gate.column: [below, above]})
    qc = QCSpec(**ALL_RULES_OFF | {rule.threshold: threshold, gate.threshold: gate_threshold})
    assert apply_qc(table, qc)["reasons"].tolist() == ["", rule.flag_reason(threshold)]


def test_offset_rule_reads_the_slab_estimate_not_the_raw_offset():
    table = metrics_table()
    table.loc[0, ["best_offset", "mi_delta"]] = [2, 0.2]  # a noisy single slice: raw offset only
    assert apply_qc(table, QC).loc[0, "reasons"] == ""


def test_null_thresholds_switch_rules_off():
    qc = QC.model_copy(update={"min_ncc": None, "max_abs_offset": None, "min_brain_fraction": None})
    reasons = apply_qc(metrics_table(), qc)["reasons"].tolist()
    assert reasons == ["", "", "dice<0.8", "", "", "edge_corr=nan", "mi<0.05"]


def test_null_min_mi_delta_counts_any_offset_beyond_the_limit():
    qc = QC.model_copy(update={"min_mi_delta": None})
    assert apply_qc(metrics_table(), qc).loc[4, "reasons"] == "offset"


def test_disabled_qc_keeps_every_slice_and_leaves_metrics_alone():
    table = metrics_table()
    out = apply_qc(table, QC.model_copy(update={"enabled": False}))
    assert not out["flagged"].any() and (out["reasons"] == "").all()
    pd.testing.assert_frame_equal(out[table.columns], table)


def test_apply_qc_does_not_modify_its_input():
    table = metrics_table()
    apply_qc(table, QC)
    assert "flagged" not in table.columns


def test_missing_metric_column_is_a_data_error():
    with pytest.raises(DataError, match="slab_offset"):
        apply_qc(metrics_table().drop(columns=["slab_offset"]), QC)


def test_summary_counts_slices_per_subject_and_reason():
    summary = qc_summary(apply_qc(metrics_table(), QC)).set_index("subject")
    assert summary.loc["a", ["slices", "kept", "flagged"]].tolist() == [4, 1, 3]
    assert summary.loc["b", ["slices", "kept", "flagged"]].tolist() == [3, 1, 2]
    assert summary.loc["a", "ncc<0.2"] == 2 and summary.loc["b", "ncc<0.2"] == 0
    assert summary.loc["a", "offset"] == 1 and summary.loc["b", "edge_corr=nan"] == 1
    assert summary.loc["(all)", ["slices", "kept", "flagged", "mi<0.05"]].tolist() == [7, 2, 5, 1]
    assert "" not in summary.columns


def test_summary_without_subjects_has_one_row():
    summary = qc_summary(apply_qc(metrics_table().drop(columns=["subject"]), QC))
    assert summary["subject"].tolist() == ["(all)"]
    assert summary.loc[0, "flagged"] == 5


def test_summary_of_an_empty_table_has_a_zero_row():
    empty = apply_qc(metrics_table().iloc[:0].drop(columns=["subject"]), QC)
    summary = qc_summary(empty)
    assert summary.to_dict("records") == [{"subject": "(all)", "slices": 0, "kept": 0, "flagged": 0}]
