"""Search distributions as Optuna suggestions, grids and nested overrides."""

from __future__ import annotations

import optuna
import pytest

from mrsynth.errors import MrsynthError
from mrsynth.search.space import grid_size, grid_values, nested, ordered, sample_overrides
from mrsynth.spec.search import SearchSpec


def space(**dims) -> dict:
    return SearchSpec.model_validate({"space": dims}).space


def test_sampled_values_lie_inside_their_distributions():
    dims = space(**{"data.qc.min_mi": {"kind": "float", "low": 0.0, "high": 0.2},
                    "loss.l1": {"kind": "float", "low": 1.0, "high": 100.0, "log": True},
                    "model.generator.depth": {"kind": "int", "low": 2, "high": 6, "step": 2},
                    "masking.kind": {"kind": "categorical", "choices": ["none", "intersection"]}})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for _ in range(30):
        values = sample_overrides(study.ask(), dims)
        assert 0.0 <= values["data.qc.min_mi"] <= 0.2 and 1.0 <= values["loss.l1"] <= 100.0
        assert values["model.generator.depth"] in (2, 4, 6) and values["masking.kind"] in ("none", "intersection")


def test_a_queued_trial_gets_its_fixed_values_back():
    dims = space(**{"loss.l1": {"kind": "float", "low": 1.0, "high": 100.0}})
    study = optuna.create_study()
    study.enqueue_trial({"loss.l1": 42.5})
    assert sample_overrides(study.ask(), dims) == {"loss.l1": 42.5}


def test_grid_enumerates_every_dimension():
    dims = space(**{"data.qc.min_mi": {"kind": "float", "low": 0.0, "high": 0.3, "step": 0.1},
                    "model.generator.depth": {"kind": "int", "low": 2, "high": 4},
                    "masking.kind": {"kind": "categorical", "choices": ["none", "source", "target"]}})
    grid = grid_values(dims)
    assert grid["data.qc.min_mi"] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert grid["model.generator.depth"] == [2, 3, 4]
    assert grid_size(dims) == 4 * 3 * 3


def test_grid_of_a_continuous_float_names_the_path():
    dims = space(**{"loss.l1": {"kind": "float", "low": 1.0, "high": 100.0}})
    with pytest.raises(MrsynthError, match=r"search\.space\.loss\.l1: the grid sampler needs a `step`"):
        grid_values(dims)


def test_kind_switches_come_first_and_nest():
    overrides = {"model.discriminator.n_layers": 2, "loss.l1": 5.0, "model.discriminator.kind": "patchgan"}
    assert [path for path, _ in ordered(overrides)][:1] == ["model.discriminator.kind"]
    assert nested(overrides) == {"model": {"discriminator": {"kind": "patchgan", "n_layers": 2}}, "loss": {"l1": 5.0}}
