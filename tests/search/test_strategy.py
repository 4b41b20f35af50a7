"""Samplers and pruners from the `search` section."""

from __future__ import annotations

import importlib.util

import optuna
import pytest

from mrsynth.errors import MrsynthError
from mrsynth.search.strategy import build_pruner, build_sampler, worker_seed
from mrsynth.spec.search import SearchSpec

SPACE = {"masking.kind": {"kind": "categorical", "choices": ["none", "intersection"]},
         "data.qc.min_mi": {"kind": "float", "low": 0.0, "high": 0.2, "step": 0.1}}


def search(**fields) -> SearchSpec:
    return SearchSpec.model_validate({"space": SPACE, **fields})


@pytest.mark.parametrize("kind, cls", [("tpe", optuna.samplers.TPESampler), ("random", optuna.samplers.RandomSampler),
                                       ("grid", optuna.samplers.GridSampler), ("gp", optuna.samplers.GPSampler)])
def test_sampler_kinds(kind, cls):
    assert isinstance(build_sampler(search(sampler={"kind": kind}), seed=1), cls)


@pytest.mark.skipif(importlib.util.find_spec("cmaes") is not None, reason="cmaes is installed here")
def test_missing_optional_package_gives_the_install_command():
    with pytest.raises(MrsynthError, match=r"'cmaes' needs cmaes: pip install cmaes"):
        build_sampler(search(sampler={"kind": "cmaes"}), seed=1)


def test_grid_sampler_visits_every_point_once():
    sampler = build_sampler(search(sampler={"kind": "grid"}), seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("data.qc.min_mi", 0.0, 0.2, step=0.1)
                   + len(t.suggest_categorical("masking.kind", ["none", "intersection"])), n_trials=6)
    seen = {(t.params["masking.kind"], round(t.params["data.qc.min_mi"], 6)) for t in study.trials}
    assert len(seen) == 6


@pytest.mark.parametrize("kind, cls", [("median", optuna.pruners.MedianPruner), ("hyperband", optuna.pruners.HyperbandPruner),
                                       ("none", optuna.pruners.NopPruner)])
def test_pruner_kinds(kind, cls):
    assert isinstance(build_pruner(search(pruner={"kind": kind, "n_warmup_steps": 2}), epochs=5), cls)


def test_workers_and_reruns_get_distinct_seeds_but_a_fresh_study_keeps_its_seed():
    assert worker_seed(7, 0, 0) == 7
    seeds = {worker_seed(7, w, n) for w in range(4) for n in (0, 4, 8)}
    assert len(seeds) == 12
