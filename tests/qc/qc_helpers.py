"""Fixtures for the QC tests: small random volume pairs, real pairs from ../shared (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

SHARED_MRI = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mri"
REAL_PAIRS = {
    "brats-t1n-t2w": ("brats_gli_00001/BraTS-GLI-00001-000-t1n.nii.gz", "brats_gli_00001/BraTS-GLI-00001-000-t2w.nii.gz"),
    "brats-t1c-t2w": ("brats_gli_00001/BraTS-GLI-00001-000-t1c.nii.gz", "brats_gli_00001/BraTS-GLI-00001-000-t2w.nii.gz"),
    "tcga-t1-t2": ("tcga_du_7294/TCGA-DU-7294_t1_bet.nii.gz", "tcga_du_7294/TCGA-DU-7294_t2_bet.nii.gz"),
    "tcga-t1c-t2": ("tcga_du_7294/TCGA-DU-7294_t1c_bet.nii.gz", "tcga_du_7294/TCGA-DU-7294_t2_bet.nii.gz"),
    "tcga-flair-t2": ("tcga_du_7294/TCGA-DU-7294_fla_bet.nii.gz", "tcga_du_7294/TCGA-DU-7294_t2_bet.nii.gz"),
    "tcga-t1-t1c": ("tcga_du_7294/TCGA-DU-7294_t1_bet.nii.gz", "tcga_du_7294/TCGA-DU-7294_t1c_bet.nii.gz"),
}
_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def real_pair_paths(name: str) -> tuple[Path, Path]:
    paths = tuple(SHARED_MRI / part for part in REAL_PAIRS[name])
    for path in paths:
        if not path.exists():
            pytest.skip(f"real MRI data not available: {path}")
    return paths


def load_real_pair(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(source, target) float32 volumes of a named real pair, read once per test session."""
    if name not in _cache:
        _cache[name] = tuple(np.asanyarray(nib.load(p).dataobj, dtype=np.float32) for p in real_pair_paths(name))
    return _cache[name]


def smooth_volume(rng: np.random.Generator, shape: tuple[int, int, int], sigma: float = 1.5) -> np.ndarray:
    """A smooth random float32 volume: neighbouring slices alike, but no two identical."""
    return ndimage.gaussian_filter(rng.normal(size=shape), sigma).astype(np.float32)


def random_masked_pair(seed: int, shape=(20, 24, 18)) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Correlated source/target with independent blob masks, and a few degenerate slices along axis 2."""
    rng = np.random.default_rng(seed)
    source = smooth_volume(rng, shape) * 100 + 50
    target = (0.6 * source + 30 * smooth_volume(rng, shape) + rng.normal(size=shape)).astype(np.float32)
    source_mask = smooth_volume(rng, shape, 2.0) > -0.05
    target_mask = smooth_volume(rng, shape, 2.0) > -0.05
    source_mask[..., 1] = False  # empty slice in the source mask
    target_mask[..., 2] = False
    source_mask[..., 0] = target_mask[..., 0] = False  # both empty: dice undefined
    source[..., 3] = 7.0  # constant source slice: ncc undefined, mi 0
    return source, target, source_mask, target_mask


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> Path:
    nib.save(nib.Nifti1Image(np.asarray(data), np.eye(4) if affine is None else affine), path)
    return path
