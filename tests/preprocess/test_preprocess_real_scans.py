"""Real scans from /work/shared/data/mri (read in place; skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mrsynth.preprocess import prepare_pair
from mrsynth.preprocess.register import mask_dice
from mrsynth.spec.preprocess import N4Spec, NoSkullStrip, PreprocessSpec

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "mri"
IXI_T1 = DATA / "ixi002_hdbet" / "hd_bet_IXI002-Guys-0828-T1.nii.gz"
IXI_T2 = DATA / "ixi002_hdbet" / "hd_bet_IXI002-Guys-0828-T2.nii.gz"
TCGA_T1 = DATA / "tcga_du_7294" / "TCGA-DU-7294_t1_bet.nii.gz"
TCGA_T2 = DATA / "tcga_du_7294" / "TCGA-DU-7294_t2_bet.nii.gz"

# Both sets are skull-stripped already; N4 is not what these tests check.
SPEC = PreprocessSpec(skull_strip=NoSkullStrip(), n4=N4Spec(enabled=False))


def _require(*paths: Path) -> None:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"real data absent: {missing}")


def _brain_points(mask: np.ndarray, affine: np.ndarray, step: int = 4) -> np.ndarray:
    index = np.argwhere(mask[::step, ::step, ::step]) * step
    return np.c_[index @ affine[:3, :3].T + affine[:3, 3], np.ones(len(index))]


@pytest.mark.slow
def test_ixi_t1_to_t2_rigid_undoes_a_known_displacement(tmp_path):
    _require(IXI_T1, IXI_T2)
    native = prepare_pair("IXI002", IXI_T1, IXI_T2, None, None, SPEC)
    # Move the T1 header by a known rigid motion P: registration must absorb exactly P.
    image = nib.load(str(IXI_T1))
    angle = np.deg2rad(10.0)
    motion = np.eye(4)
    motion[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    motion[:3, 3] = (15.0, -10.0, 6.0)
    moved_path = tmp_path / "moved_T1.nii.gz"
    nib.save(nib.Nifti1Image(np.asarray(image.dataobj), motion @ image.affine, image.header), str(moved_path))
    moved = prepare_pair("IXI002", moved_path, IXI_T2, None, None, SPEC)

    assert moved.source.shape == nib.load(str(IXI_T2)).shape
    assert moved.info["dice_before"] < 0.85 <= moved.info["dice_after"]
    assert mask_dice(moved.source_mask, moved.target_mask) >= 0.85
    assert native.info["dice_after"] >= 0.85
    # A target brain point came from native source point inv(N) p, which the header moved to P inv(N) p:
    # the registration of the moved file must send that back to p.
    points = _brain_points(moved.target_mask, moved.affine)
    round_trip = moved.transform @ motion @ np.linalg.inv(native.transform)
    error_mm = np.linalg.norm((points @ round_trip.T - points)[:, :3], axis=1)
    assert np.sqrt(np.mean(error_mm**2)) < 1.0


@pytest.mark.slow
def test_coregistered_cross_contrast_pair_stays_put():
    # BrainLes co-registered T1/T2 (SRI24 space): registration must not move the T1 by more than a millimetre.
    _require(TCGA_T1, TCGA_T2)
    pair = prepare_pair("TCGA-DU-7294", TCGA_T1, TCGA_T2, None, None, SPEC)
    points = _brain_points(pair.target_mask, pair.affine)
    displacement = np.linalg.norm((points @ pair.transform.T - points)[:, :3], axis=1)
    assert displacement.max() < 1.0
    assert pair.info["dice_after"] > 0.95
