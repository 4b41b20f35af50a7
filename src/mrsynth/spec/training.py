"""The `masking`, `train` and `eval` sections."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from mrsynth.spec.base import StrictModel

ReconstructionLoss = Literal["l1", "l2", "gdl"]


class MaskingSpec(StrictModel):
    """Which brain mask restricts the reconstruction losses."""

    kind: Literal["none", "intersection", "source", "target"] = "none"
    """`none`: whole slice; otherwise pixels outside this mask contribute nothing."""
    apply_to: list[ReconstructionLoss] = ["l1", "l2"]
    """Paired reconstruction losses the mask applies to."""


class TrainSpec(StrictModel):
    """Optimisation."""

    epochs: int = Field(default=20, ge=1)
    """Number of passes over the training slices."""
    decay_epochs: int | None = Field(default=None, ge=0)
    """The last `decay_epochs` decay the learning rate linearly to 0 (constant before); default: half of `epochs`."""
    batch_size: int = Field(default=16, ge=1)
    """Slices per step."""
    lr_g: float = Field(default=2e-4, gt=0, le=1)
    """Adam learning rate of the generator."""
    lr_d: float = Field(default=2e-4, gt=0, le=1)
    """Adam learning rate of the discriminator."""
    betas: tuple[float, float] = (0.5, 0.999)
    """Adam betas."""
    seed: int = 0
    """Seed of initialisation, shuffling and augmentation (bit-for-bit repeatable on CPU)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """`auto`: CUDA when present, else CPU."""
    amp: bool = True
    """Mixed precision on CUDA (ignored on CPU)."""
    flips: bool = True
    """Random left-right flips (mirroring canonical x) of training slices or patches; sagittal slices have none."""
    num_workers: int = Field(default=0, ge=0)
    """Data-loader worker processes (slices are memory-mapped; 0 is usually fastest on CPU)."""
    sample_every: int = Field(default=5, ge=1)
    """Log a sample grid every N epochs (and at the end)."""

    @model_validator(mode="before")
    @classmethod
    def _half_of_epochs_by_default(cls, data: Any) -> Any:
        """A fixed default (10) made `--set train.epochs=4` fail on a number the user never wrote."""
        if isinstance(data, dict) and data.get("decay_epochs") is None:
            epochs = data.get("epochs", cls.model_fields["epochs"].default)
            if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 1:
                return {**data, "decay_epochs": epochs // 2}
        return data

    @model_validator(mode="after")
    def _decay_within_epochs(self) -> TrainSpec:
        if self.decay_epochs > self.epochs:
            raise ValueError(f"decay_epochs must be <= epochs ({self.epochs}) (got {self.decay_epochs}); lower it too "
                             "(e.g. --set train.decay_epochs=N), or leave it out of every spec for half of epochs")
        return self


class EvalSpec(StrictModel):
    """Evaluation and model selection."""

    every: int = Field(default=1, ge=1)
    """Evaluate on the validation subjects every N epochs (and at the end)."""
    select_by: str = Field(default="val/ssim_brain", pattern=r"^val/(psnr|ssim|mae)(_brain)?$")
    """Validation metric that picks the best checkpoint."""
    save_predictions: bool = True
    """Write the test subjects' predicted volumes as NIfTI artifacts."""

    @property
    def select_mode(self) -> Literal["max", "min"]:
        return "min" if "mae" in self.select_by else "max"
