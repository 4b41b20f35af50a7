"""The `motion_qc` experiment kind: synthetic k-space motion, SFCN score regression, transfer to QC classes.

Selected by `"kind": "motion_qc"` at the top of a spec; shares `name`, `description`, `extends` and
`family` with translation specs, and the loader, `--set`, error messages and hashing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from mrsynth.errors import MrsynthError
from mrsynth.spec.base import StrictModel
from mrsynth.spec.data import BidsEntities, SplitSpec

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"  # as mrsynth.spec.experiment.NAME_PATTERN (not imported: no cycle)


class MotionBidsDataset(StrictModel):
    """Volumes from a BIDS(-like) tree: each listed image of each subject is one volume of the study."""

    kind: Literal["bids"] = "bids"
    root: str = "../data/demo"
    """Dataset root; a relative path is relative to the spec file that declares it."""
    images: list[BidsEntities] = Field(
        default=[BidsEntities(session="3T", suffix="T1w"), BidsEntities(session="7T", suffix="T1w")], min_length=1)
    """Which images of each subject are used (a subject lacking one simply has fewer volumes)."""
    subjects: list[str] | None = None
    """Only these subject labels (without `sub-`); null: every subject found."""


class MotionManifestDataset(StrictModel):
    """A CSV with columns `subject, path` and optional `session, suffix` (paths relative to the CSV)."""

    kind: Literal["manifest"] = "manifest"
    csv: str
    """Path of the CSV; relative to the spec file."""


MotionDataset = Annotated[MotionBidsDataset | MotionManifestDataset, Field(discriminator="kind")]


class MotionDataSpec(StrictModel):
    """Which volumes, which to leave out of pretraining, the subject split and the network's input grid."""

    dataset: MotionDataset = MotionBidsDataset()
    exclude: str | None = None
    """CSV of volumes left out of pretraining (known real motion would make their synthetic scores wrong):
    columns `subject` and optional `session`, `suffix`, `label`; relative to the spec file."""
    exclude_labels: list[str] = ["motion"]
    """When the `exclude` CSV has a `label` column, only its rows with one of these labels are left out."""
    split: SplitSpec = SplitSpec(train=0.75, val=0.125, test=0.125)
    """Subject-level split of the volumes (all volumes of a subject land in one split)."""
    shape: tuple[int, int, int] = (48, 48, 48)
    """Every volume (whole field of view, RAS) is resampled to this grid before motion is simulated."""

    @model_validator(mode="after")
    def _shape_is_positive(self) -> MotionDataSpec:
        if min(self.shape) < 8:
            raise ValueError(f"shape must be at least 8 voxels a side (got {list(self.shape)})")
        return self


class AugmentSpec(StrictModel):
    """The study's other random transforms, applied before the motion (probabilities per sample)."""

    flip_probability: float = Field(0.5, ge=0, le=1)
    """Left-right (sagittal) mirror."""
    scale_range: float = Field(0.1, ge=0, lt=1)
    """Isotropic scaling by a factor drawn from [1 - x, 1 + x]."""
    elastic_probability: float = Field(0.5, ge=0, le=1)
    elastic_max_mm: float = Field(4.0, ge=0)
    """Largest displacement of a control point of the elastic deformation (mm)."""
    elastic_control_points: int = Field(5, ge=2, le=16)
    """Control points per axis of the smooth displacement field."""
    bias_probability: float = Field(0.5, ge=0, le=1)
    bias_coefficient: float = Field(0.3, ge=0)
    """Polynomial coefficients of the log bias field are drawn from [-x, x]."""
    bias_order: int = Field(3, ge=0, le=5)
    gamma_probability: float = Field(0.5, ge=0, le=1)
    gamma_log_range: float = Field(0.3, ge=0)
    """Intensities (scaled to [0, 1]) are raised to exp(u), u drawn from [-x, x]."""


class MotionSpec(StrictModel):
    """Synthetic k-space motion: how many samples, how much motion, how the score is computed."""

    samples_per_volume: int = Field(8, ge=1, le=1000)
    """Corrupted samples generated (and cached) from each volume."""
    seed: int = Field(0, ge=0)
    """With a volume's content fingerprint, fixes every random draw of its samples."""
    clean_fraction: float = Field(0.15, ge=0, le=1)
    """Share of samples acquired without motion (score 0); they still get the other transforms."""
    states: tuple[int, int] = (2, 5)
    """Inclusive range of head poses (k-space segments) per moved sample, the reference pose included."""
    max_rotation_deg: float = Field(6.0, ge=0, le=45)
    """Rotations about each axis are drawn from [-s·x, s·x], s ~ U(0, 1) the sample's severity."""
    max_translation_mm: float = Field(8.0, ge=0, le=100)
    """Translations along each axis are drawn from [-s·x, s·x]."""
    phase_encode_axes: list[Literal[0, 1, 2]] = Field(default=[0, 1], min_length=1)
    """Each sample's phase-encode axis (RAS voxel axis of the resampled grid) is drawn from these."""
    radius_mm: float = Field(80.0, gt=0)
    """Radius of the sphere (about the grid centre) over which the RMS deviation is averaged."""
    score_weighting: Literal["kspace_energy", "time"] = "kspace_energy"
    """How segments combine into the volume's score: by their share of k-space energy or of acquisition time."""
    augment: AugmentSpec = AugmentSpec()

    @model_validator(mode="after")
    def _states_range(self) -> MotionSpec:
        low, high = self.states
        if not 2 <= low <= high:
            raise ValueError(f"states must be [low, high] with 2 <= low <= high (got {list(self.states)})")
        return self


class SFCNSpec(StrictModel):
    """SFCN (Peng et al. 2021): conv-BN-maxpool-ReLU blocks, 1×1×1 conv, average pool, dropout, bins."""

    kind: Literal["sfcn"] = "sfcn"
    widths: list[int] = Field(default=[32, 64, 128, 256, 256, 64], min_length=2)
    """Channels of each pooled block, then of the final 1×1×1 block (its width is the embedding size)."""
    dropout: float = Field(0.5, ge=0, lt=1)
    bins: int = Field(50, ge=2, le=1000)
    """Bins of the predicted score distribution."""
    score_max: float | None = Field(None, gt=0)
    """Upper end (mm) of the bins (the lower end is 0); null: the largest generated training score."""
    label_sigma: float = Field(1.0, gt=0)
    """Standard deviation of the soft (Gaussian) target, in bins."""

    @model_validator(mode="after")
    def _positive_widths(self) -> SFCNSpec:
        if min(self.widths) < 1:
            raise ValueError(f"widths must be >= 1 (got {self.widths})")
        return self


class MotionTrainSpec(StrictModel):
    """AdamW, learning rate reduced on a validation-R² plateau, early stopping on validation R²."""

    epochs: int = Field(40, ge=1)
    batch_size: int = Field(8, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-3, ge=0)
    plateau_factor: float = Field(0.5, gt=0, lt=1)
    """Learning rate multiplier when validation R² stalls."""
    plateau_patience: int = Field(3, ge=0)
    """Epochs without a better validation R² before the learning rate drops."""
    early_stopping_patience: int | None = Field(8, ge=1)
    """Epochs without a better validation R² before training stops; null: run every epoch."""
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """`auto`: CUDA when present, else CPU."""


class TransferSpec(StrictModel):
    """A small MLP on the frozen encoder's embeddings of the real volumes, for QC classes."""

    labels: str
    """CSV with columns `subject, label` (optional `session, suffix` for one volume); relative to the spec."""
    hidden: list[int] = [32]
    """Widths of the hidden layers; [] is a linear classifier."""
    dropout: float = Field(0.2, ge=0, lt=1)
    epochs: int = Field(200, ge=1)
    lr: float = Field(1e-2, gt=0)
    weight_decay: float = Field(1e-2, ge=0)
    folds: int = Field(5, ge=2)
    """Subject-grouped, class-stratified cross-validation folds (fewer when there are fewer subjects)."""
    seed: int = 0


class MotionQCExperiment(StrictModel):
    """A motion-QC study: pretrain an SFCN on synthetic motion scores, optionally transfer to QC classes."""

    kind: Literal["motion_qc"]
    """Experiment kind; absent or `translation` selects an image-translation spec."""
    name: str = Field(pattern=NAME_PATTERN, max_length=100)
    """Becomes a folder and the MLflow run name: lower case letters, digits, `.`, `_`, `-`."""
    description: str = ""
    extends: str | None = None
    """Path of a parent spec (relative to this file); this file's keys override the parent's."""
    family: str | None = Field(default=None, pattern=NAME_PATTERN)
    """MLflow experiment that groups related specs; default: the root of the `extends` chain."""
    data: MotionDataSpec = MotionDataSpec()
    motion: MotionSpec = MotionSpec()
    model: SFCNSpec = SFCNSpec()
    train: MotionTrainSpec = MotionTrainSpec()
    transfer: TransferSpec | None = None
    """Optional QC-class head; null: pretraining only."""

    def resolved(self) -> dict[str, Any]:
        """The resolved spec as plain JSON data; `extends` (provenance) dropped."""
        data = self.model_dump(mode="json")
        data.pop("extends", None)
        return data

    @property
    def spec_hash(self) -> str:
        from mrsynth.spec.experiment import spec_hash

        return spec_hash(self.resolved())

    @property
    def search(self) -> None:
        raise MrsynthError(f"{self.name}: a motion_qc spec has no search space (`mrsynth search` tunes translation "
                           "specs); train it with `mrsynth run`")


def motion_problems(exp: MotionQCExperiment) -> list[tuple[tuple[str, ...], str, Any]]:
    """Cross-field rules of a motion spec: (JSON path, rule, value)."""
    problems = []
    factor = 2 ** (len(exp.model.widths) - 1)
    if min(exp.data.shape) < factor:
        rule = f"each side must be >= 2**(len(model.widths) - 1) = {factor} (one voxel left after the pooling blocks)"
        problems.append((("data", "shape"), rule, list(exp.data.shape)))
    return problems
