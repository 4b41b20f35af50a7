"""The QC filter: thresholds of a `QCSpec` applied to a slice metrics table (cheap, no cache needed).

Slice rules: one per thresholded row of `mrsynth.spec.qc_columns.QC_METRICS`, off when its threshold is
null. A `lower` row flags values below its `min_*` field, reason `"ncc<0.2"`; a NaN metric (degenerate
slice) fails its rule with reason `"ncc=nan"`, since it cannot be vouched for; `offset` when
|slab_offset| > max_abs_offset and slab_mi_delta >= min_mi_delta (the slab-pooled estimate, see
`mrsynth.qc.offset`). Volume rule: `motion` on every slice of a subject whose source or target volume's
motion score (columns `source_motion_score`, `target_motion_score`, from a motion_qc model) exceeds
max_motion_score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mrsynth.errors import DataError
from mrsynth.spec.qc import QCSpec
from mrsynth.spec.qc_columns import QC_METRICS, VOLUME_THRESHOLDS, QCMetric

ALL_SUBJECTS = "(all)"
MOTION_COLUMNS = list(VOLUME_THRESHOLDS["max_motion_score"])
SLICE_RULES = [metric for metric in QC_METRICS if metric.threshold and metric.direction != "gate"]
_BY_COLUMN = {metric.column: metric for metric in QC_METRICS}
_VIOLATES = {"lower": np.less, "upper": np.greater, "absolute": lambda values, limit: np.abs(values) > limit}


def require_columns(table: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"QC table lacks columns {missing} (has {list(table.columns)})")


def _rule_failures(table: pd.DataFrame, qc: QCSpec) -> dict[str, np.ndarray]:
    """Reason label → boolean array of the rows failing it."""
    failures: dict[str, np.ndarray] = {}
    for metric in SLICE_RULES:
        threshold = getattr(qc, metric.threshold)
        if threshold is not None:
            failures.update(_slice_rule_failures(table, metric, threshold, qc))
    failures.update(_motion_failures(table, qc))
    return {reason: failed for reason, failed in failures.items() if failed.any()}


def _slice_rule_failures(table: pd.DataFrame, metric: QCMetric, threshold: float, qc: QCSpec) -> dict[str, np.ndarray]:
    """One table row's rule: its flag reason and `<column>=nan`, each → the rows failing it."""
    require_columns(table, [metric.column] + ([metric.gate] if metric.gate else []))
    values = table[metric.column].to_numpy(dtype=np.float64)
    failed = _VIOLATES[metric.direction](values, threshold) & _gate_reached(table, metric, qc)
    return {metric.flag_reason(threshold): failed, f"{metric.column}=nan": np.isnan(values)}


def _gate_reached(table: pd.DataFrame, metric: QCMetric, qc: QCSpec) -> np.ndarray | bool:
    """Rows whose gate column reaches its threshold; True without a gate or when the gate is off."""
    if metric.gate is None:
        return True
    gate = _BY_COLUMN[metric.gate]
    threshold = getattr(qc, gate.threshold)
    if threshold is None:
        return True
    return table[gate.column].to_numpy(dtype=np.float64) >= threshold


def _motion_failures(table: pd.DataFrame, qc: QCSpec) -> dict[str, np.ndarray]:
    """The volume-level rule: a subject's slices fail together when either of its volumes moved too much."""
    if qc.max_motion_score is None:
        return {}
    if any(c not in table.columns for c in MOTION_COLUMNS):
        raise DataError(f"data.qc.max_motion_score needs the volumes' motion scores (columns {MOTION_COLUMNS}); "
                        "they come from data.qc.motion_model when a run prepares its data")
    scores = table[MOTION_COLUMNS].to_numpy(dtype=np.float64)
    unscored = np.isnan(scores).any(axis=1)
    worst = np.where(unscored, np.nan, scores.max(axis=1, initial=-np.inf))
    return {"motion": worst > qc.max_motion_score, "motion=nan": unscored}


def with_motion_scores(table: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """`table` with each subject's `source_motion_score` and `target_motion_score` (replacing earlier ones)."""
    require_columns(table, ["subject"])
    merged = table.drop(columns=MOTION_COLUMNS, errors="ignore").copy()
    per_subject = scores.assign(subject=scores["subject"].astype(str)).set_index("subject")
    for column in MOTION_COLUMNS:
        merged[column] = merged["subject"].astype(str).map(per_subject[column]).astype(np.float64)
    return merged


def apply_qc(table: pd.DataFrame, qc: QCSpec, motion_scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """A copy of `table` with `flagged` (bool) and `reasons` (";"-joined, "" when kept) columns.

    `motion_scores` (columns subject, source_motion_score, target_motion_score) adds the per-volume
    motion scores to every slice of its subject, for the `max_motion_score` rule."""
    table = with_motion_scores(table, motion_scores) if motion_scores is not None else table
    out = table.copy()
    failures = _rule_failures(table, qc) if qc.enabled else {}
    flagged = np.zeros(len(table), dtype=bool)
    labels = np.full(len(table), "", dtype=object)
    for reason, failed in failures.items():
        labels[failed] = [f"{text};{reason}" if text else reason for text in labels[failed]]
        flagged |= failed
    out["flagged"] = flagged
    out["reasons"] = labels.astype(str)
    return out


def qc_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per subject (plus "(all)"): slices, kept, flagged, and a count column per reason.

    A slice with two reasons counts in both reason columns. Without a `subject` column, one "(all)" row.
    """
    require_columns(table, ["flagged", "reasons"])
    subjects = table["subject"].astype(str) if "subject" in table.columns else pd.Series(ALL_SUBJECTS, index=table.index)
    reasons = table["reasons"].fillna("").astype(str).str.get_dummies(sep=";")
    reasons = reasons.drop(columns=[""], errors="ignore")  # kept slices have an empty reason
    counts = pd.DataFrame({"slices": 1, "flagged": table["flagged"].astype(int)}, index=table.index)
    counts = pd.concat([counts, reasons], axis=1).groupby(subjects.to_numpy()).sum()
    if "subject" in table.columns or counts.empty:
        counts.loc[ALL_SUBJECTS] = counts.sum()
    counts.insert(1, "kept", counts["slices"] - counts["flagged"])
    return counts.rename_axis("subject").reset_index()
