"""What one training step optimises, one objective class per `loss` kind; a new family is a row in OBJECTIVES."""

from __future__ import annotations

from mrsynth.spec.experiment import Experiment
from mrsynth.spec.loss import CycleGANLoss, NECLoss, PairedLoss
from mrsynth.train.objectives.base import Objective
from mrsynth.train.objectives.paired import PairedObjective
from mrsynth.train.objectives.unpaired import CycleGANObjective, NECObjective

__all__ = ["OBJECTIVES", "build_objective"]

OBJECTIVES: dict[type, type[Objective]] = {
    PairedLoss: PairedObjective,
    NECLoss: NECObjective,
    CycleGANLoss: CycleGANObjective,
}


def build_objective(exp: Experiment) -> Objective:
    return OBJECTIVES[type(exp.loss)].from_experiment(exp)
