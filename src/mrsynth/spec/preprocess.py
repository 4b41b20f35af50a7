"""The `preprocess` section: skull strip, N4, registration and intensity normalisation per subject."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from mrsynth.spec.base import StrictModel


class NoSkullStrip(StrictModel):
    """No skull stripping: every voxel above zero is brain (for volumes that are already skull-stripped)."""

    kind: Literal["none"] = "none"
    """Selects this skull-strip method."""


class ProvidedMasks(StrictModel):
    """Brain masks given by the dataset; each must share its image's grid (shape and affine)."""

    kind: Literal["provided"] = "provided"
    """Selects this skull-strip method."""


class ThresholdSkullStrip(StrictModel):
    """Otsu threshold, morphological opening, largest connected component, closing and hole filling."""

    kind: Literal["threshold"] = "threshold"
    """Selects this skull-strip method."""
    smoothing_sigma: float = Field(default=0.5, ge=0.0)
    """Gaussian sigma in voxels applied before the Otsu threshold; 0 disables smoothing."""
    opening_radius: int = Field(default=2, ge=0)
    """Ball radius in voxels of the opening that cuts thin links (skull, scalp) from the brain."""
    closing_radius: int = Field(default=2, ge=0)
    """Ball radius in voxels of the closing that smooths the brain outline."""


class AntsMask(StrictModel):
    """ANTs `get_mask`: threshold at the image mean, then erosion, largest component, dilation, hole filling."""

    kind: Literal["ants_mask"] = "ants_mask"
    """Selects this skull-strip method."""
    cleanup: int = Field(default=2, ge=0, le=4)
    """ANTs morphological clean-up level (0: none; higher: stronger erosion/dilation)."""


class DeepbetSkullStrip(StrictModel):
    """deepbet: a CNN brain extractor (its TorchScript weights ship in its wheel, so it runs offline) that strips
    raw heads with skull and neck; on the GPU when there is one."""

    kind: Literal["deepbet"] = "deepbet"
    """Selects this skull-strip method."""
    threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    """Brain probability above which a voxel is brain; lower keeps more voxels at the brain's edge."""
    dilation: int = Field(default=0, ge=-10, le=10)
    """Voxel layers added to (positive) or peeled from (negative) the mask's surface after thresholding."""


SkullStrip = Annotated[
    NoSkullStrip | ProvidedMasks | ThresholdSkullStrip | AntsMask | DeepbetSkullStrip, Field(discriminator="kind")
]


class N4Spec(StrictModel):
    """N4 bias field correction (ANTs), estimated inside the brain mask."""

    enabled: bool = True
    """Correct the smooth multiplicative intensity bias of each volume."""
    shrink_factor: int = Field(default=4, ge=1, le=8)
    """Downsampling factor for the bias estimation; larger is faster and smoother."""
    iterations: tuple[int, ...] = (50, 50, 50, 50)
    """Maximum iterations per fitting level (one entry per level)."""
    tolerance: float = Field(default=1e-7, gt=0.0)
    """Convergence threshold of each level."""
    spline_mesh: int = Field(default=1, ge=1, le=8)
    """B-spline spans per axis at the first fitting level (each later level doubles it); independent of the field
    of view, unlike a spline distance in mm, so small and large volumes get equally smooth fields."""

    @model_validator(mode="after")
    def _iterations_positive(self) -> N4Spec:
        if not self.iterations or min(self.iterations) < 1:
            raise ValueError(f"iterations must be a non-empty list of positive integers, got {list(self.iterations)}")
        return self


class RegistrationSpec(StrictModel):
    """Linear registration of the source volume onto the target (ANTs), then resampling into the target grid."""

    kind: Literal["none", "rigid", "affine"] = "rigid"
    """`none` resamples by world coordinates only; `rigid` (6 dof) or `affine` (12 dof) register first."""
    initialise: Literal["mask_centroids", "world"] = "mask_centroids"
    """Starting point: `mask_centroids` shifts the source so the brain-mask centroids coincide (any scanner
    origin, same answer for every contrast); `world` trusts the files' world coordinates as they are."""
    metric: Literal["mattes", "GC", "meansquares"] = "mattes"
    """Similarity metric: `mattes` (mutual information) works across contrasts; `GC`, `meansquares` need one contrast."""
    bins: int = Field(default=32, ge=8, le=256)
    """Histogram bins of the `mattes` metric (ignored by the others)."""
    sampling_rate: float = Field(default=0.1, gt=0.0, le=1.0)
    """Fraction of brain voxels the metric samples per iteration (raised for small images, see min_samples)."""
    min_samples: int = Field(default=20000, ge=100)
    """Small images are sampled more densely so the finest level has at least this many metric samples."""
    pyramid_mm: tuple[float, ...] = (8.0, 4.0, 2.0)
    """Voxel size in mm of each resolution level, coarse to fine (each becomes an ANTs shrink factor >= 1)."""
    iterations: tuple[int, ...] = (1000, 500, 250)
    """Maximum iterations per resolution level, coarse to fine (a level stops early when it converges)."""
    use_masks: bool = True
    """Register brain-masked images and sample the metric only inside the brain masks (faster, ignores skull)."""
    seed: int = Field(default=20240611, ge=0)
    """Random seed of the metric sampling: with single-threaded ANTs the same inputs give the same transform."""

    @model_validator(mode="after")
    def _levels_agree(self) -> RegistrationSpec:
        if len(self.iterations) != len(self.pyramid_mm) or not self.iterations:
            raise ValueError(
                "iterations and pyramid_mm need one entry per level, got lengths "
                f"{len(self.iterations)} and {len(self.pyramid_mm)}"
            )
        if min(self.iterations) < 1 or min(self.pyramid_mm) <= 0:
            raise ValueError(
                f"iterations and pyramid_mm must be positive, got {list(self.iterations)} and {list(self.pyramid_mm)}"
            )
        return self


class NormaliseSpec(StrictModel):
    """Robust intensity normalisation inside the brain mask: percentile p_low → -1, p_high → 1."""

    p_low: float = Field(default=1.0, ge=0.0, lt=100.0)
    """Lower percentile (inside the mask) mapped to -1."""
    p_high: float = Field(default=99.0, gt=0.0, le=100.0)
    """Upper percentile (inside the mask) mapped to +1."""
    clip: bool = True
    """Clip normalised intensities to [-1, 1]."""

    @model_validator(mode="after")
    def _ordered(self) -> NormaliseSpec:
        if self.p_low >= self.p_high:
            raise ValueError(f"p_low must be below p_high, got p_low={self.p_low}, p_high={self.p_high}")
        return self


class PreprocessSpec(StrictModel):
    """Per-subject preprocessing: reorient to RAS, skull strip, N4, register source → target, normalise."""

    skull_strip: SkullStrip = DeepbetSkullStrip()
    """How each volume's brain mask is obtained (default: deepbet, the one method that strips raw heads)."""
    n4: N4Spec = N4Spec()
    """N4 bias field correction."""
    registration: RegistrationSpec = RegistrationSpec()
    """Source → target registration; the source is resampled into the target grid."""
    normalise: NormaliseSpec = NormaliseSpec()
    """Intensity normalisation to [-1, 1]."""
    min_overlap_dice: float = Field(default=0.7, ge=0.0, le=1.0)
    """Smallest Dice of the registered source mask and the target mask; below it the fields of view are
    judged too different for registration to fix and the subject is rejected."""
