"""QC of one already co-registered volume pair, on its intensities as given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mrsynth.errors import DataError
from mrsynth.qc.filter import apply_qc
from mrsynth.qc.metrics import METRIC_COLUMNS, ROBUST_COLUMNS, slice_pair_metrics
from mrsynth.qc.report import write_report
from mrsynth.spec.qc import QCSpec

QC_CSV_COLUMNS = [*METRIC_COLUMNS, "flagged", "reasons", *ROBUST_COLUMNS]
AFFINE_TOLERANCE = 1e-3
"""Largest absolute difference (mm, or unitless for rotations) between two affines on "one grid"."""


def load_volume(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """(float32 data, affine) of a 3D NIfTI; DataError naming the file when it cannot be used."""
    import nibabel as nib

    path = Path(path)
    try:
        image = nib.load(path)
        data = np.asanyarray(image.dataobj, dtype=np.float32)
    except FileNotFoundError:
        raise DataError("file not found", path=str(path)) from None
    except Exception as exc:  # nibabel raises many types for a corrupt or foreign file
        raise DataError(f"not a readable NIfTI volume ({type(exc).__name__}: {exc})", path=str(path)) from None
    data = np.squeeze(data) if data.ndim > 3 else data
    if data.ndim != 3:
        raise DataError(f"expected a 3D volume, got shape {data.shape}", path=str(path))
    if not np.isfinite(data).all():
        raise DataError("volume has NaN or infinite values", path=str(path))
    return data, image.affine


def check_same_grid(reference: tuple[np.ndarray, np.ndarray, Path], other: tuple[np.ndarray, np.ndarray, Path]) -> None:
    """DataError naming both files unless shape and affine agree (affine within AFFINE_TOLERANCE)."""
    (data_a, affine_a, path_a), (data_b, affine_b, path_b) = reference, other
    if data_a.shape != data_b.shape:
        raise DataError(f"shape {data_b.shape} differs from {path_a} shape {data_a.shape}: "
                        "volumes must share one grid (register and resample first)", path=str(path_b))
    difference = float(np.abs(affine_a - affine_b).max())
    if difference > AFFINE_TOLERANCE:
        raise DataError(f"affine differs from {path_a} affine (max difference {difference:.3g}): "
                        "volumes must share one grid (register and resample first)", path=str(path_b))


def _load_on_grid(path: Path | str | None, reference: tuple[np.ndarray, np.ndarray, Path]) -> np.ndarray | None:
    if path is None:
        return None
    data, affine = load_volume(path)
    check_same_grid(reference, (data, affine, Path(path)))
    return data


def qc_pair(
    source_path: Path | str,
    target_path: Path | str,
    out_dir: Path | str,
    source_mask_path: Path | str | None = None,
    target_mask_path: Path | str | None = None,
    axis: int = 2,
    max_offset: int | None = None,
    qc: QCSpec = QCSpec(),  # noqa: B008 - frozen, so a shared default is safe
    worst_n: int = 12,
    figures: bool = True,
) -> pd.DataFrame:
    """Metrics, flags and a report for one pair on one grid; returns the table written to out_dir/qc.csv.

    `max_offset` defaults to qc.max_offset. Masks, when given, are their non-zero voxels; without
    them a voxel is in a volume's mask when it is non-zero. Slices are listed when their
    brain_fraction >= qc.min_brain_fraction (every slice with any overlap when that is null).
    `figures=False`: tables and index.html only, no figures of the worst slices.
    """
    source, affine = load_volume(source_path)
    reference = (source, affine, Path(source_path))
    target = _load_on_grid(target_path, reference)
    source_mask = _load_on_grid(source_mask_path, reference)
    target_mask = _load_on_grid(target_mask_path, reference)
    if axis not in (0, 1, 2):
        raise DataError(f"axis must be 0, 1 or 2 (got {axis})")
    min_fraction = qc.min_brain_fraction if qc.min_brain_fraction is not None else np.nextafter(0.0, 1.0)
    table = slice_pair_metrics(
        source, target,
        None if source_mask is None else source_mask != 0,
        None if target_mask is None else target_mask != 0,
        axis=axis, max_offset=qc.max_offset if max_offset is None else max_offset,
        bins=qc.bins, min_brain_fraction=float(min_fraction),
    )
    table = apply_qc(table, qc)[QC_CSV_COLUMNS]

    def volumes(_subject: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mask_s = source != 0 if source_mask is None else source_mask != 0
        mask_t = target != 0 if target_mask is None else target_mask != 0
        return source, target, mask_s & mask_t

    write_report(table, out_dir, volumes, worst_n=worst_n, axis=axis, figures=figures)
    return table
