"""Trial specs (overrides applied, validated) and the best spec written back: no training needed."""

from __future__ import annotations

import json

import pytest
from search_fixtures import search_spec, write_json

from mrsynth.cli import main
from mrsynth.errors import MrsynthError, SpecError
from mrsynth.search.specs import comparable, load_search_base, trial_spec, write_best_spec
from mrsynth.spec.load import load_spec

# Each value is valid on its own (checked at spec load); together, no loss term is left.
COMBO_SPACE = {"loss.adversarial": {"kind": "categorical", "choices": [0.0, 1.0]},
               "loss.l1": {"kind": "categorical", "choices": [0.0, 100.0]}}


@pytest.fixture
def base(tmp_path):
    return load_search_base(write_json(tmp_path / "experiments" / "tiny.json", search_spec(tmp_path / "demo")))


def test_trial_spec_carries_the_overrides_and_no_search(base):
    loaded = trial_spec(base, "st", 3, {"data.qc.min_mi": 0.125, "loss.l1": 50.0, "masking.kind": "none"})
    exp = loaded.experiment
    assert exp.data.qc.min_mi == 0.125 and exp.loss.l1 == 50.0 and exp.masking.kind == "none"
    assert exp.search is None and exp.name == "tiny.trial-3" and "study st" in exp.description
    assert exp.family == "tiny"  # trials land in the searched spec's MLflow experiment
    untouched = base.loaded.experiment
    assert exp.data.preprocess == untouched.data.preprocess and exp.data.slicing == untouched.data.slicing


def test_an_invalid_combination_names_the_rule_and_the_trial(tmp_path):
    data = search_spec(tmp_path / "demo", space=COMBO_SPACE)
    base = load_search_base(write_json(tmp_path / "experiments" / "combo.json", data))
    with pytest.raises(SpecError) as caught:
        trial_spec(base, "st", 5, {"loss.adversarial": 0.0, "loss.l1": 0.0})
    assert "combo.json: loss: at least one loss weight must be > 0" in str(caught.value)
    assert trial_spec(base, "st", 6, {"loss.adversarial": 0.0, "loss.l1": 100.0}).experiment.loss.l1 == 100.0


def test_a_spec_without_search_is_refused(tmp_path):
    path = write_json(tmp_path / "experiments" / "plain.json", {"name": "plain"})
    with pytest.raises(MrsynthError, match="has no `search` section"):
        load_search_base(path)


@pytest.mark.parametrize("masking", ["none", "intersection"])
def test_best_spec_resolves_to_the_trial_spec(base, tmp_path, masking, capsys):
    params = {"data.qc.min_mi": 0.0625, "loss.l1": 12.5, "masking.kind": masking}
    out = tmp_path / "elsewhere" / "tiny-best.json"
    loaded = write_best_spec(base, out, "st", 2, 0.75, params)
    written = json.loads(out.read_text())
    assert written["search"] is None and written["name"] == "tiny-best"
    assert "trial 2" in written["description"] and "study st" in written["description"]
    assert (out.parent / written["extends"]).resolve() == base.loaded.path
    trial = trial_spec(base, "st", 2, params).experiment.resolved()
    assert comparable(loaded.experiment.resolved()) == comparable(trial)
    assert main(["validate", str(out)]) == 0 and "ok  tiny-best" in capsys.readouterr().out


def test_set_overrides_of_the_search_reach_the_best_spec(tmp_path):
    path = write_json(tmp_path / "experiments" / "tiny.json", search_spec(tmp_path / "demo"))
    base = load_search_base(path, ("train.lr_g=0.001",))
    loaded = write_best_spec(base, tmp_path / "out" / "b.json", "st", 0, 1.0, {"loss.l1": 20.0})
    assert loaded.experiment.train.lr_g == 0.001 and loaded.experiment.loss.l1 == 20.0
    assert loaded.experiment.data.dataset == load_spec(path).experiment.data.dataset
