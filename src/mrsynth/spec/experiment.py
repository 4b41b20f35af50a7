"""The experiment: every section of a spec, and its content hash."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import Field

from mrsynth.spec.base import StrictModel
from mrsynth.spec.data import DataSpec
from mrsynth.spec.loss import Loss, PairedLoss
from mrsynth.spec.model import ModelSpec
from mrsynth.spec.search import SearchSpec
from mrsynth.spec.training import EvalSpec, MaskingSpec, TrainSpec

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"

# Keys that describe where a spec came from, not what it computes: never hashed.
PROVENANCE_KEYS = ("extends",)


class Experiment(StrictModel):
    """One experiment: data, masking, model, losses, training, evaluation and an optional search."""

    name: str = Field(pattern=NAME_PATTERN, max_length=100)
    """Becomes a folder and the MLflow run name: lower case letters, digits, `.`, `_`, `-`."""
    description: str = ""
    """Free text: the question this experiment answers."""
    extends: str | None = None
    """Path of a parent spec (relative to this file); this file's keys override the parent's."""
    family: str | None = Field(default=None, pattern=NAME_PATTERN)
    """MLflow experiment that groups related specs; default: the root of the `extends` chain."""
    data: DataSpec = DataSpec()
    masking: MaskingSpec = MaskingSpec()
    model: ModelSpec = ModelSpec()
    loss: Loss = PairedLoss()
    """What the networks optimise (`kind`: paired | nec | cyclegan; default paired)."""
    train: TrainSpec = TrainSpec()
    eval: EvalSpec = EvalSpec()
    search: SearchSpec | None = None
    """Optuna search (used by `mrsynth search`; ignored by `mrsynth run`)."""

    def resolved(self) -> dict[str, Any]:
        """The resolved spec as plain JSON data: defaults filled, inheritance applied, provenance dropped."""
        data = self.model_dump(mode="json")
        for key in PROVENANCE_KEYS:
            data.pop(key, None)
        return data

    @property
    def spec_hash(self) -> str:
        return spec_hash(self.resolved())


def canonical_json(data: Any) -> str:
    """Sorted keys, no whitespace: equal data gives equal text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def spec_hash(resolved: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(resolved).encode()).hexdigest()
