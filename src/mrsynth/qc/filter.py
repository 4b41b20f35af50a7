"""The QC filter: thresholds of a `QCSpec` applied to a slice metrics table (cheap, no cache needed).

Rules (each off when its threshold is null): `<metric> < min_<metric>` for dice, ncc, mi,
edge_corr and brain_fraction, reason `"ncc<0.2"`; a NaN metric (degenerate slice) fails its rule
with reason `"ncc=nan"`, since it cannot be vouched for; `offset` when |slab_offset| >
max_abs_offset and slab_mi_delta >= min_mi_delta (the slab-pooled estimate, see `mrsynth.qc.offset`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mrsynth.errors import DataError
from mrsynth.spec.qc import QCSpec

THRESHOLD_RULES = {
    "dice": "min_dice",
    "ncc": "min_ncc",
    "mi": "min_mi",
    "edge_corr": "min_edge_corr",
    "brain_fraction": "min_brain_fraction",
}
ALL_SUBJECTS = "(all)"


def require_columns(table: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"QC table lacks columns {missing} (has {list(table.columns)})")


def _rule_failures(table: pd.DataFrame, qc: QCSpec) -> dict[str, np.ndarray]:
    """Reason label → boolean array of the rows failing it."""
    failures: dict[str, np.ndarray] = {}
    for column, field in THRESHOLD_RULES.items():
        threshold = getattr(qc, field)
        if threshold is None:
            continue
        require_columns(table, [column])
        values = table[column].to_numpy(dtype=np.float64)
        failures[f"{column}<{threshold:g}"] = values < threshold
        failures[f"{column}=nan"] = np.isnan(values)
    if qc.max_abs_offset is not None:
        require_columns(table, ["slab_offset", "slab_mi_delta"])
        failed = np.abs(table["slab_offset"].to_numpy()) > qc.max_abs_offset
        if qc.min_mi_delta is not None:
            failed &= table["slab_mi_delta"].to_numpy(dtype=np.float64) >= qc.min_mi_delta
        failures["offset"] = failed
    return {reason: failed for reason, failed in failures.items() if failed.any()}


def apply_qc(table: pd.DataFrame, qc: QCSpec) -> pd.DataFrame:
    """A copy of `table` with `flagged` (bool) and `reasons` (";"-joined, "" when kept) columns."""
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
