"""Reference brain masks for real heads, built from what packages ship (nothing is downloaded).

SPM's avg152T1 (../shared/data/mri/spm_avg152) is a head with skull in MNI space; nilearn's wheel ships an
MNI152 brain template whose mask, resampled onto avg152T1's grid, is the brain there. A raw head gets its
reference by registering avg152T1 onto it (ANTs affine, whole head) and carrying the mask along.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from mrsynth.preprocess.register import mask_dice
from mrsynth.preprocess.threads import load_ants

AVG152_T1 = ("spm_avg152", "canonical_avg152T1.nii")
IXI_HEADS = ("IXI012-HH-1211-T1_ds.nii.gz", "IXI013-HH-1212-T1_ds.nii.gz", "IXI014-HH-1236-T1_ds.nii.gz")
IXI_FOLDER = "ixi_hh_t1_2mm"


@dataclass(frozen=True)
class Agreement:
    """How a brain mask compares with a reference mask on the same grid."""

    dice: float
    outside: float  # fraction of the mask's voxels outside the reference
    litres: float
    reference_litres: float


def agreement(mask: np.ndarray, reference: np.ndarray, affine: np.ndarray) -> Agreement:
    voxel_litres = abs(float(np.linalg.det(affine[:3, :3]))) * 1e-6
    outside = float((mask & ~reference).sum()) / max(1, int(mask.sum()))
    return Agreement(mask_dice(mask, reference), outside, float(mask.sum()) * voxel_litres,
                     float(reference.sum()) * voxel_litres)


def template_mask(template: Path, folder: Path) -> Path:
    """nilearn's MNI152 brain mask resampled (nearest) onto the grid of `template`, written under `folder`."""
    from nilearn.datasets import load_mni152_brain_mask
    from nilearn.image import resample_to_img

    grid = nib.load(str(template))
    mask = resample_to_img(load_mni152_brain_mask(resolution=1), grid, interpolation="nearest",
                           force_resample=True, copy_header=True)
    path = folder / "mni152_brain_mask_on_template.nii.gz"
    nib.save(nib.Nifti1Image((np.asarray(mask.dataobj) > 0).astype(np.uint8), grid.affine), str(path))
    return path


def head_reference(head: Path, template: Path, template_brain: Path, folder: Path) -> Path:
    """A brain mask on the grid of raw `head`: `template` registered affinely onto it, `template_brain` carried."""
    ants = load_ants()
    fixed, moving = ants.image_read(str(head)), ants.image_read(str(template))
    transforms = ants.registration(fixed=fixed, moving=moving, type_of_transform="Affine",
                                   outprefix=str(folder / "ref_"), random_seed=1)["fwdtransforms"]
    carried = ants.apply_transforms(fixed=fixed, moving=ants.image_read(str(template_brain)),
                                    transformlist=transforms, interpolator="nearestNeighbor")
    path = folder / f"reference_{head.name}"
    ants.image_write(carried, str(path))
    return path
