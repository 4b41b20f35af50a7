from __future__ import annotations

import json

import pytest

from mrsynth.errors import SpecError
from mrsynth.spec.load import load_spec

MINIMAL = {"name": "base"}


def problems_of(path, overrides=()):
    with pytest.raises(SpecError) as info:
        load_spec(path, overrides)
    return info.value.problems


def test_minimal_spec_fills_defaults_and_family(write_spec):
    spec = load_spec(write_spec("base", MINIMAL))
    resolved = spec.experiment.resolved()
    assert resolved["family"] == "base"
    assert resolved["data"]["qc"]["enabled"] is True
    assert "extends" not in resolved
    assert len(spec.spec_hash) == 64


def test_extends_merges_deeply_and_child_wins(write_spec):
    write_spec("base", {"name": "base", "loss": {"l1": 50.0, "adversarial": 2.0}, "masking": {"kind": "none"}})
    child = write_spec("child", {"name": "child", "extends": "base.json", "loss": {"l1": 10.0}})
    exp = load_spec(child).experiment
    assert exp.loss.l1 == 10.0
    assert exp.loss.adversarial == 2.0
    assert exp.family == "base"


def test_extends_any_depth(write_spec):
    write_spec("a", {"name": "a", "train": {"epochs": 3, "decay_epochs": 1}})
    write_spec("b", {"name": "b", "extends": "a.json", "train": {"batch_size": 4}})
    c = write_spec("c", {"name": "c", "extends": "b.json", "train": {"seed": 7}})
    train = load_spec(c).experiment.train
    assert (train.epochs, train.batch_size, train.seed) == (3, 4, 7)


def test_changing_kind_replaces_the_section(write_spec):
    write_spec("base", {"name": "base", "data": {"preprocess": {"skull_strip": {"kind": "threshold", "closing_radius": 3}}}})
    child = write_spec("child", {"name": "child", "extends": "base.json", "data": {"preprocess": {"skull_strip": {"kind": "none"}}}})
    assert load_spec(child).experiment.data.preprocess.skull_strip.kind == "none"


def test_extends_cycle_prints_the_chain(write_spec):
    write_spec("a", {"name": "a", "extends": "b.json"})
    write_spec("b", {"name": "b", "extends": "a.json"})
    (line,) = problems_of(write_spec("c", {"name": "c", "extends": "a.json"}))
    assert "cycle" in line
    assert line.index("a.json") < line.index("b.json") < line.rindex("a.json")


def test_extends_missing_parent_names_the_file(write_spec):
    (line,) = problems_of(write_spec("c", {"name": "c", "extends": "nope.json"}))
    assert "c.json" in line and "extends" in line and "nope.json" in line


def test_inherited_relative_paths_are_rebased(tmp_path, write_spec):
    write_spec("base", {"name": "base", "data": {"dataset": {"kind": "bids", "root": "data/demo"}}}, folder=tmp_path)
    child = write_spec("child", {"name": "child", "extends": "../base.json"})
    spec = load_spec(child)
    assert spec.resolve_path(spec.experiment.data.dataset.root) == (tmp_path / "data" / "demo").resolve()


def test_error_names_file_path_rule_and_value(write_spec):
    (line,) = problems_of(write_spec("x", {"name": "x", "data": {"qc": {"min_ncc": 1.7}}}))
    assert line.endswith("x.json: data.qc.min_ncc: must be <= 1 (got 1.7)") or "data.qc.min_ncc: must be <= 1" in line
    assert "x.json" in line and "(got 1.7)" in line


def test_several_errors_are_listed_together(write_spec):
    lines = problems_of(write_spec("x", {"name": "X!", "train": {"epochs": 0}, "bogus": 1}))
    joined = "\n".join(lines)
    assert len(lines) == 3
    assert "name: must match" in joined and "train.epochs: must be >= 1 (got 0)" in joined and "bogus: unknown key" in joined


def test_error_in_inherited_value_names_the_parent(write_spec):
    write_spec("base", {"name": "base", "loss": {"l1": -1}})
    lines = problems_of(write_spec("child", {"name": "child", "extends": "base.json"}))
    assert any(line.startswith(("base.json", "experiments/base.json")) or "/base.json: loss.l1" in line for line in lines)


def test_union_tag_is_not_part_of_the_path(write_spec):
    (line,) = problems_of(write_spec("x", {"name": "x", "model": {"generator": {"kind": "unet", "depth": 1}}}))
    assert "model.generator.depth: must be >= 2 (got 1)" in line


def test_unknown_kind_lists_the_choices(write_spec):
    (line,) = problems_of(write_spec("x", {"name": "x", "model": {"discriminator": {"kind": "resnet"}}}))
    assert "model.discriminator" in line and "'resnet'" in line and "patchgan" in line


def test_invalid_json_reports_line(write_spec, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"name": "x",\n  "loss": }')
    (line,) = problems_of(path)
    assert "bad.json: line 2" in line and "invalid JSON" in line


def test_set_overrides_are_validated_like_the_file(write_spec):
    path = write_spec("x", MINIMAL)
    spec = load_spec(path, ["data.qc.min_ncc=0.3", "masking.kind=none", "train.betas=[0.9, 0.99]"])
    assert spec.experiment.data.qc.min_ncc == 0.3
    assert spec.experiment.train.betas == (0.9, 0.99)
    (line,) = problems_of(path, ["data.qc.min_ncc=1.7"])
    assert "--set data.qc.min_ncc=1.7" in line and "must be <= 1 (got 1.7)" in line
    (line,) = problems_of(path, ["loss.nope=1"])
    assert "loss.nope: unknown key" in line


def test_set_without_equals_is_an_error(write_spec):
    (line,) = problems_of(write_spec("x", MINIMAL), ["loss.l1"])
    assert "dotted.path=value" in line


def test_spec_cannot_smuggle_code(write_spec):
    lines = problems_of(write_spec("x", {"name": "x", "model": {"generator": {"kind": "unet", "_target_": "os.system"}}}))
    assert any("_target_: unknown key" in line for line in lines)


def test_schema_key_is_accepted_and_ignored(write_spec):
    a = load_spec(write_spec("a", {"$schema": "../registry/schema.json", "name": "a"}))
    b = load_spec(write_spec("b", {"name": "a"}))
    assert a.spec_hash == b.spec_hash


def test_top_level_must_be_object(tmp_path):
    path = tmp_path / "list.json"
    path.write_text(json.dumps([1, 2]))
    (line,) = problems_of(path)
    assert "must be a JSON object" in line


def test_set_kind_replaces_the_section(write_spec):
    path = write_spec("x", {"name": "x", "model": {"discriminator": {"kind": "patchgan", "n_layers": 2}}})
    spec = load_spec(path, ["model.discriminator.kind=none", "loss.adversarial=0"])
    assert spec.experiment.model.discriminator.kind == "none"
