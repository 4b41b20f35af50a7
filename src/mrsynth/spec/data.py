"""The `data` section: which volumes, how they are split, sliced and filtered."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from mrsynth.spec.base import StrictModel
from mrsynth.spec.preprocess import PreprocessSpec
from mrsynth.spec.qc import QCSpec


class BidsEntities(StrictModel):
    """BIDS entities that pick one image per subject (e.g. session 3T, suffix T1w)."""

    session: str | None = None
    """`ses-` label without the prefix, e.g. `3T`; null matches files without a session."""
    suffix: str = "T1w"
    """BIDS suffix of the image, e.g. `T1w`, `T2w`, `PDw`."""
    acquisition: str | None = None
    """`acq-` label, when the dataset has several acquisitions."""
    run: int | None = Field(default=None, ge=1)
    """`run-` index, when a session has repeated runs."""


class BidsDataset(StrictModel):
    """A BIDS(-like) tree: `sub-*/[ses-*/]anat/sub-*_[ses-*_]SUFFIX.nii[.gz]`."""

    kind: Literal["bids"] = "bids"
    root: str = "../data/demo"
    """Dataset root; a relative path is relative to the spec file that declares it."""
    source: BidsEntities = BidsEntities(session="3T", suffix="T1w")
    """Entities of the input image."""
    target: BidsEntities = BidsEntities(session="7T", suffix="T1w")
    """Entities of the image to synthesise."""
    masks: str | None = "derivatives/masks"
    """Folder (relative to root) holding `..._desc-brain_mask.nii[.gz]` files mirroring the raw tree; null: none."""
    subjects: list[str] | None = None
    """Only these subject labels (without `sub-`); null: every subject found."""
    paired: bool = True
    """Source and target of a subject show the same anatomy; false for unpaired translation."""


class ManifestDataset(StrictModel):
    """A CSV with columns `subject, source, target` and optional `source_mask, target_mask`."""

    kind: Literal["manifest"] = "manifest"
    csv: str
    """Path of the CSV; relative to the spec file. Paths inside the CSV are relative to the CSV."""
    paired: bool = True
    """Source and target of a row show the same anatomy; false for unpaired translation."""


Dataset = Annotated[BidsDataset | ManifestDataset, Field(discriminator="kind")]


class SplitSpec(StrictModel):
    """Subject-level split: no subject appears in two splits."""

    train: float = Field(default=0.75, gt=0, le=1)
    """Fraction of subjects for training."""
    val: float = Field(default=0.125, ge=0, lt=1)
    """Fraction of subjects for validation (model selection)."""
    test: float = Field(default=0.125, ge=0, lt=1)
    """Fraction of subjects held out for the final test."""
    seed: int = 0
    """Seed of the subject shuffle."""
    val_subjects: list[str] | None = None
    """Explicit validation subjects; when given with `test_subjects`, every other subject trains and the fractions are unused."""
    test_subjects: list[str] | None = None
    """Explicit held-back test subjects (see `val_subjects`)."""

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> SplitSpec:
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + val + test must be 1 (got {total:g})")
        if (self.val_subjects is None) != (self.test_subjects is None):
            raise ValueError("give both val_subjects and test_subjects, or neither")
        if self.val_subjects is not None and set(self.val_subjects) & set(self.test_subjects):
            raise ValueError(f"a subject cannot be in val and test (got {sorted(set(self.val_subjects) & set(self.test_subjects))})")
        return self


class SlicingSpec(StrictModel):
    """How volumes become paired 2D slices."""

    axis: int = Field(default=2, ge=0, le=2)
    """Slicing axis in canonical RAS voxel order: 0 sagittal, 1 coronal, 2 axial."""
    size: tuple[int, int] = (64, 64)
    """In-plane size after centre crop or zero pad (divisible by 2**generator depth)."""
    min_brain_fraction: float = Field(default=0.1, ge=0, le=1)
    """Slices whose intersection mask covers less of the slice than this are not stored."""

    @model_validator(mode="after")
    def _positive_size(self) -> SlicingSpec:
        if min(self.size) < 8:
            raise ValueError(f"size must be at least 8 x 8 (got {list(self.size)})")
        return self


class PatchSpec(StrictModel):
    """3D patches from the cached volumes instead of 2D slices (for 3D generators)."""

    size: tuple[int, int, int] = (32, 32, 32)
    """Patch sides in voxels (canonical axis order)."""
    per_subject: int = Field(default=16, ge=1, le=4096)
    """Training patches drawn per training subject and epoch, centred on brain voxels of kept slices."""
    stride: int = Field(default=8, ge=1)
    """Step between overlapping patches when whole volumes are predicted (overlaps are averaged)."""

    @model_validator(mode="after")
    def _sizes(self) -> PatchSpec:
        if min(self.size) < 8:
            raise ValueError(f"size must be at least 8 per side (got {list(self.size)})")
        if self.stride > min(self.size):
            raise ValueError(f"stride must not exceed the smallest patch side {min(self.size)} (got {self.stride})")
        return self


class DataSpec(StrictModel):
    """Data: dataset, split, preprocessing, slicing, slice-level QC."""

    dataset: Dataset = BidsDataset()
    """Where the volumes come from (`kind`: bids | manifest)."""
    split: SplitSpec = SplitSpec()
    """Subject-level train/val/test split."""
    preprocess: PreprocessSpec = PreprocessSpec()
    """Per-subject preprocessing (skull strip, N4, registration, normalisation)."""
    slicing: SlicingSpec = SlicingSpec()
    """Volume → slice conversion."""
    patches: PatchSpec | None = None
    """3D patch training (needs a 3D generator); null: 2D slices."""
    qc: QCSpec = QCSpec()
    """Slice-pair QC thresholds; `enabled: false` keeps every slice."""
    on_bad_subject: Literal["error", "skip"] = "error"
    """`error`: a bad volume stops the run; `skip`: the subject is left out and the reason recorded."""
