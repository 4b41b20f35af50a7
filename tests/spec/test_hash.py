from __future__ import annotations

import json

from mrsynth.spec.load import load_spec


def test_whitespace_and_key_order_do_not_change_the_hash(tmp_path):
    data = {"name": "x", "loss": {"l1": 10.0, "adversarial": 0.5}, "train": {"epochs": 4, "decay_epochs": 2}}
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(json.dumps(data))
    b.write_text(json.dumps({"train": {"decay_epochs": 2, "epochs": 4}, "loss": {"adversarial": 0.5, "l1": 10}, "name": "x"}, indent=7))
    assert load_spec(a).spec_hash == load_spec(b).spec_hash


def test_defaults_written_out_do_not_change_the_hash(write_spec):
    plain = load_spec(write_spec("a", {"name": "x"}))
    explicit = load_spec(write_spec("b", {"name": "x", "loss": {"l1": 100.0, "adversarial_kind": "bce"}}))
    assert plain.spec_hash == explicit.spec_hash


def test_inherited_equals_inline(write_spec):
    write_spec("base", {"name": "base", "loss": {"l1": 5.0}, "masking": {"kind": "none"}})
    child = load_spec(write_spec("child", {"name": "child", "extends": "base.json", "train": {"seed": 3}}))
    inline = load_spec(write_spec("inline", {"name": "child", "family": "base", "loss": {"l1": 5.0}, "train": {"seed": 3}}))
    assert child.spec_hash == inline.spec_hash
    assert child.experiment.resolved() == inline.experiment.resolved()


def test_any_semantic_change_changes_the_hash(write_spec):
    base = load_spec(write_spec("a", {"name": "x"})).spec_hash
    for change in ({"loss": {"l1": 99.0}}, {"data": {"qc": {"min_ncc": 0.05}}}, {"train": {"seed": 1}},
                   {"masking": {"kind": "none", "apply_to": ["l1"]}}, {"description": "other"}):
        assert load_spec(write_spec("b", {"name": "x", **change})).spec_hash != base, change


def test_round_trip_resolved_spec_is_a_fixed_point(write_spec, tmp_path):
    write_spec("base", {"name": "base", "loss": {"l1": 5.0}})
    spec = load_spec(write_spec("child", {"name": "child", "extends": "base.json"}))
    again = tmp_path / "experiments" / "again.json"
    again.write_text(json.dumps(spec.experiment.resolved()))
    reloaded = load_spec(again)
    assert reloaded.experiment.resolved() == spec.experiment.resolved()
    assert reloaded.spec_hash == spec.spec_hash


def test_experiment_is_frozen(write_spec):
    import pydantic
    import pytest

    exp = load_spec(write_spec("a", {"name": "x"})).experiment
    with pytest.raises(pydantic.ValidationError):
        exp.loss.l1 = 3.0
