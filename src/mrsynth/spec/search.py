"""The `search` section: an Optuna search space and strategy, declared as data."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from mrsynth.spec.base import StrictModel

Scalar = bool | int | float | str | None


class FloatDistribution(StrictModel):
    """A float in [low, high], optionally log-uniform or on a grid of `step`."""

    kind: Literal["float"] = "float"
    low: float
    high: float
    log: bool = False
    step: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> FloatDistribution:
        _check_bounds(self.low, self.high, self.log, self.step)
        return self


class IntDistribution(StrictModel):
    """An integer in [low, high] (inclusive)."""

    kind: Literal["int"] = "int"
    low: int
    high: int
    log: bool = False
    step: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> IntDistribution:
        _check_bounds(self.low, self.high, self.log, self.step if self.step != 1 else None)
        return self


class CategoricalDistribution(StrictModel):
    """One of a list of values."""

    kind: Literal["categorical"] = "categorical"
    choices: list[Scalar] = Field(min_length=1)


def _check_bounds(low: float, high: float, log: bool, step: float | None) -> None:
    if low > high:
        raise ValueError(f"low must be <= high (got low={low}, high={high})")
    if log and low <= 0:
        raise ValueError(f"log needs low > 0 (got {low})")
    if log and step is not None:
        raise ValueError("log and step cannot be combined")


Distribution = Annotated[
    FloatDistribution | IntDistribution | CategoricalDistribution, Field(discriminator="kind")
]


class SamplerSpec(StrictModel):
    """Optuna sampler. `cmaes` and `gp` need their optional packages (the error says which)."""

    kind: Literal["tpe", "random", "grid", "cmaes", "gp"] = "tpe"
    n_startup_trials: int = Field(default=5, ge=0)
    """Random trials before TPE models the space."""


class PrunerSpec(StrictModel):
    """Optuna pruner acting on the intermediate validation objective."""

    kind: Literal["median", "hyperband", "none"] = "median"
    n_warmup_steps: int = Field(default=1, ge=0)
    """Epochs a trial runs before it can be pruned (median pruner)."""


class SearchSpec(StrictModel):
    """What `mrsynth search` optimises."""

    space: dict[str, Distribution] = Field(min_length=1)
    """Dotted spec path → distribution, e.g. `data.qc.min_ncc` → {kind: float, low: 0, high: 0.5}."""
    objective: str = Field(default="val/ssim_brain", pattern=r"^val/(psnr|ssim|mae)(_brain)?$")
    """Evaluation metric to optimise."""
    direction: Literal["maximize", "minimize"] = "maximize"
    n_trials: int = Field(default=20, ge=1)
    """Trials this study should reach (counted over all workers)."""
    timeout: float | None = Field(default=None, gt=0)
    """Seconds after which a worker starts no new trial."""
    sampler: SamplerSpec = SamplerSpec()
    pruner: PrunerSpec = PrunerSpec()
    seed: int = 0
    """Sampler seed."""
