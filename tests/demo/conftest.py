"""One small generated demo tree shared by the demo tests (6 subjects: two clean, one of each defect)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mrsynth.demo import generate_demo

SHAPE = (32, 32, 24)
SEED = 3
SUBJECTS = 6


@dataclass(frozen=True)
class Demo:
    root: Path
    truth: dict
    shape: tuple[int, int, int] = SHAPE
    seed: int = SEED
    subjects: int = SUBJECTS

    def nifti(self, subject: str, session: str, contrast: str) -> nib.Nifti1Image:
        return nib.load(
            self.root / subject / f"ses-{session}" / "anat" / f"{subject}_ses-{session}_{contrast}.nii.gz"
        )

    def image(self, subject: str, session: str, contrast: str) -> np.ndarray:
        return self.nifti(subject, session, contrast).get_fdata()

    def labels(self, subject: str, session: str) -> np.ndarray:
        folder = self.root / "derivatives" / "labels" / subject / f"ses-{session}" / "anat"
        return np.asarray(nib.load(folder / f"{subject}_ses-{session}_dseg.nii.gz").dataobj)

    def mask(self, subject: str, session: str) -> np.ndarray:
        folder = self.root / "derivatives" / "masks" / subject / f"ses-{session}" / "anat"
        return np.asarray(nib.load(folder / f"{subject}_ses-{session}_desc-brain_mask.nii.gz").dataobj)

    def defect(self, group: str) -> dict:
        return self.truth["defects"][group][0]


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    root = tmp_path_factory.mktemp("demo")
    truth_path = generate_demo(root, subjects=SUBJECTS, seed=SEED, shape=SHAPE)
    return Demo(root=root, truth=json.loads(truth_path.read_text()))
