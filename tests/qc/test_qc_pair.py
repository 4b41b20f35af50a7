"""qc_pair on NIfTI files: the qc.csv contract, masks, and errors that name the files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from qc_helpers import smooth_volume, write_nifti

from mrsynth.errors import DataError
from mrsynth.qc.pair import qc_pair
from mrsynth.spec.qc import QCSpec

REQUIRED = ["slice", "dice", "ncc", "mi", "edge_corr", "best_offset", "mi_delta", "brain_fraction", "flagged", "reasons"]


def brain_pair(shape=(32, 32, 24), seed=0):
    """A blob-masked source and a contrast-inverted target; target slices 9-11 replaced by noise."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape).astype(float)
    centre = (np.array(shape) - 1) / 2
    radius = np.sqrt((((grid.T - centre) / (np.array(shape) / 2.3)) ** 2).sum(axis=-1)).T
    mask = radius < 1.0
    source = (smooth_volume(rng, shape) * 50 + 100) * mask
    target = (300 - source) * mask
    target[..., 9:12] = rng.uniform(1, 200, size=(*shape[:2], 3)) * mask[..., 9:12]
    return source.astype(np.float32), target.astype(np.float32), mask


@pytest.fixture
def pair_files(tmp_path):
    source, target, mask = brain_pair()
    return write_nifti(tmp_path / "src.nii.gz", source), write_nifti(tmp_path / "tgt.nii.gz", target), mask


def test_qc_csv_has_the_contract_columns_and_flags_the_corrupt_slices(pair_files, tmp_path):
    source_path, target_path, mask = pair_files
    out = tmp_path / "report"
    # MI of a few hundred voxels on 32x32 bins is biased high: corrupt slices still reach ~0.7 nats
    table = qc_pair(source_path, target_path, out, qc=QCSpec(min_mi=1.0))
    written = pd.read_csv(out / "qc.csv", keep_default_na=False)
    assert list(written.columns[: len(REQUIRED)]) == REQUIRED
    assert list(written.columns[len(REQUIRED):]) == ["slab_offset", "slab_mi_delta"]
    fractions = mask.mean(axis=(0, 1))
    assert written["slice"].tolist() == np.flatnonzero(fractions >= 0.1).tolist()
    assert written["flagged"].tolist() == table["flagged"].tolist()
    corrupt = written.set_index("slice").loc[[9, 10, 11]]
    # the middle one may also read `offset`: with its own target slice noise, a clean one 2 away matches best
    assert corrupt["flagged"].all() and corrupt["reasons"].str.split(";").map(lambda r: "mi<1" in r).all()
    assert written.set_index("slice").loc[[4, 16, 19], "flagged"].eq(False).all()
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert {"slice009.png", "slice010.png", "slice011.png"} <= set(figures)
    index = (out / "index.html").read_text()
    assert all(f"figures/{name}" in index for name in figures)


def test_masks_replace_the_nonzero_rule(pair_files, tmp_path):
    source_path, target_path, mask = pair_files
    half = mask.copy()
    half[:16] = False
    half_path = write_nifti(tmp_path / "half.nii.gz", half.astype(np.uint8))
    table = qc_pair(source_path, target_path, tmp_path / "out", target_mask_path=half_path, worst_n=1)
    assert (table["dice"] < 0.8).all()
    assert table["reasons"].str.contains("dice<0.8").all()


def test_axis_and_thresholds_are_honoured(pair_files, tmp_path):
    source_path, target_path, mask = pair_files
    table = qc_pair(source_path, target_path, tmp_path / "out", axis=0, qc=QCSpec(min_brain_fraction=0.3), worst_n=0)
    assert table["slice"].tolist() == np.flatnonzero(mask.mean(axis=(1, 2)) >= 0.3).tolist()


def test_shape_mismatch_names_both_files(tmp_path):
    a = write_nifti(tmp_path / "a.nii.gz", np.ones((8, 8, 8), np.float32))
    b = write_nifti(tmp_path / "b.nii.gz", np.ones((8, 8, 9), np.float32))
    with pytest.raises(DataError, match=r"b\.nii\.gz: shape \(8, 8, 9\) differs from .*a\.nii\.gz"):
        qc_pair(a, b, tmp_path / "out")


def test_affine_mismatch_names_both_files_and_tiny_differences_pass(tmp_path):
    data = np.ones((8, 8, 8), np.float32)
    a = write_nifti(tmp_path / "a.nii.gz", data)
    shifted = np.eye(4)
    shifted[0, 3] = 2.0
    b = write_nifti(tmp_path / "b.nii.gz", data, shifted)
    with pytest.raises(DataError, match=r"b\.nii\.gz: affine differs from .*a\.nii\.gz"):
        qc_pair(a, b, tmp_path / "out")
    nearly = np.eye(4)
    nearly[0, 3] = 1e-6
    c = write_nifti(tmp_path / "c.nii.gz", data, nearly)
    assert qc_pair(a, c, tmp_path / "ok", worst_n=0)["dice"].eq(1.0).all()


def test_mask_on_another_grid_is_rejected(pair_files, tmp_path):
    source_path, target_path, _ = pair_files
    small = write_nifti(tmp_path / "mask.nii.gz", np.ones((8, 8, 8), np.uint8))
    with pytest.raises(DataError, match="mask.nii.gz"):
        qc_pair(source_path, target_path, tmp_path / "out", source_mask_path=small)


def test_unreadable_and_missing_files_are_named(pair_files, tmp_path):
    source_path, _, _ = pair_files
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(b"not a nifti")
    with pytest.raises(DataError, match="broken.nii.gz"):
        qc_pair(source_path, broken, tmp_path / "out")
    with pytest.raises(DataError, match="absent.nii.gz: file not found"):
        qc_pair(tmp_path / "absent.nii.gz", source_path, tmp_path / "out")
