"""Intermediate validation values reach the pruner, and a prune ends training through StopTraining."""

from __future__ import annotations

import math

import optuna
import pytest

from mrsynth.search.objective import PruningHooks, TrialFailed
from mrsynth.train.loop import StopTraining


def test_values_are_reported_per_epoch_and_a_prune_stops_training():
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.5))
    trial = study.ask()
    hooks = PruningHooks(trial, "val/ssim_brain")
    hooks.validated(1, {"val/ssim_brain": 0.7, "val/psnr": 20.0}, None)
    with pytest.raises(StopTraining, match=r"pruned at epoch 2: val/ssim_brain = 0.3"):
        hooks.validated(2, {"val/ssim_brain": 0.3}, None)
    assert study.trials[0].intermediate_values == {1: 0.7, 2: 0.3}


def test_objective_value_is_the_kept_checkpoints():
    hooks = PruningHooks(optuna.create_study().ask(), "val/mae_brain")
    for epoch, value in ((1, 0.30), (2, 0.10), (3, math.nan), (4, 0.20)):
        hooks.validated(epoch, {"val/mae_brain": value}, None)
    assert hooks.values == {1: 0.30, 2: 0.10, 4: 0.20}  # NaN is not reported
    assert hooks.value_at(4, "minimize") == 0.20  # the epoch the run kept
    assert hooks.value_at(None, "minimize") == 0.10 and hooks.value_at(None, "maximize") == 0.30


def test_no_finite_value_fails_the_trial():
    hooks = PruningHooks(optuna.create_study().ask(), "val/ssim_brain")
    hooks.validated(1, {"val/ssim_brain": math.nan}, None)
    with pytest.raises(TrialFailed, match="never computed"):
        hooks.value_at(1, "maximize")
