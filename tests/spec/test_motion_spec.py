"""The `motion_qc` kind: dispatch on the top-level `kind`, errors, inheritance, hashing, schema, QC filter fields."""

from __future__ import annotations

import json

import pytest

from mrsynth.errors import SpecError
from mrsynth.spec.experiment import Experiment
from mrsynth.spec.load import load_spec
from mrsynth.spec.motion import MotionQCExperiment

MOTION = {"kind": "motion_qc", "name": "mq"}


def problems_of(path, overrides=()):
    with pytest.raises(SpecError) as info:
        load_spec(path, overrides)
    return info.value.problems


def test_kind_selects_the_experiment_class(write_spec):
    motion = load_spec(write_spec("m", MOTION))
    assert isinstance(motion.experiment, MotionQCExperiment) and motion.kind == "motion_qc"
    assert motion.experiment.resolved()["kind"] == "motion_qc" and len(motion.spec_hash) == 64
    plain = load_spec(write_spec("t", {"name": "t"}))
    assert isinstance(plain.experiment, Experiment) and plain.kind == "translation"


def test_explicit_translation_kind_keeps_the_hash(write_spec):
    plain = load_spec(write_spec("a", {"name": "t", "loss": {"l1": 5.0}}))
    explicit = load_spec(write_spec("b", {"kind": "translation", "name": "t", "loss": {"l1": 5.0}}))
    assert plain.spec_hash == explicit.spec_hash
    assert "kind" not in explicit.experiment.resolved()


def test_unknown_kind_names_file_path_and_value(write_spec):
    (line,) = problems_of(write_spec("x", {"kind": "segmentation", "name": "x"}))
    assert "x.json: kind: unknown experiment kind" in line and '(got "segmentation")' in line


def test_motion_errors_name_file_path_rule_and_value(write_spec):
    path = write_spec("m", {**MOTION, "motion": {"max_rotation_deg": 90}, "model": {"bins": 1},
                            "train": {"optimizer": "sgd"}})
    lines = problems_of(path)
    assert any("m.json: motion.max_rotation_deg: must be <= 45 (got 90)" in line for line in lines)
    assert any("model.bins: must be >= 2 (got 1)" in line for line in lines)
    assert any("train.optimizer: unknown key" in line for line in lines)


def test_states_range_is_checked(write_spec):
    (line,) = problems_of(write_spec("m", {**MOTION, "motion": {"states": [1, 3]}}))
    assert "m.json: motion:" in line and "2 <= low <= high" in line and "[1, 3]" in line


def test_translation_sections_are_unknown_in_a_motion_spec(write_spec):
    (line,) = problems_of(write_spec("m", {**MOTION, "loss": {"l1": 3}}))
    assert "loss: unknown key" in line


def test_input_grid_must_survive_the_pooling_blocks(write_spec):
    path = write_spec("m", {**MOTION, "data": {"shape": [16, 16, 16]}, "model": {"widths": [4, 8, 8, 8, 8, 8]}})
    (line,) = problems_of(path)
    assert "data.shape: each side must be >= 2**(len(model.widths) - 1) = 32" in line and "(got [16, 16, 16])" in line


def test_set_overrides_and_blames_the_option(write_spec):
    path = write_spec("m", MOTION)
    spec = load_spec(path, ["motion.samples_per_volume=3", "train.epochs=2"])
    assert spec.experiment.motion.samples_per_volume == 3 and spec.experiment.train.epochs == 2
    (line,) = problems_of(path, ["motion.clean_fraction=2"])
    assert "(--set motion.clean_fraction=2)" in line and "must be <= 1" in line


def test_top_level_kind_override_switches_kind_without_clearing_the_spec(write_spec):
    spec = load_spec(write_spec("t", {"name": "keep"}), ["kind=motion_qc"])
    assert spec.kind == "motion_qc" and spec.name == "keep"


def test_extends_merges_motion_specs_and_rebases_paths(write_spec, tmp_path):
    write_spec("base", {**MOTION, "name": "base", "transfer": {"labels": "labels.csv", "hidden": [8]},
                        "data": {"exclude": "labels.csv"}}, folder=tmp_path / "parent")
    child = write_spec("child", {"kind": "motion_qc", "name": "child", "extends": "../parent/base.json",
                                 "transfer": {"hidden": [4, 4]}, "motion": {"seed": 3}})
    spec = load_spec(child)
    assert spec.experiment.transfer.hidden == [4, 4] and spec.experiment.motion.seed == 3
    assert spec.resolve_path(spec.experiment.transfer.labels) == (tmp_path / "parent" / "labels.csv").resolve()
    assert spec.resolve_path(spec.experiment.data.exclude) == (tmp_path / "parent" / "labels.csv").resolve()
    assert spec.experiment.family == "base"


def test_any_motion_change_changes_the_hash(write_spec):
    base = load_spec(write_spec("a", MOTION)).spec_hash
    for change in ({"motion": {"seed": 1}}, {"model": {"bins": 40}}, {"data": {"shape": [32, 32, 32]}},
                   {"train": {"lr": 0.01}}, {"motion": {"augment": {"flip_probability": 0.0}}}):
        assert load_spec(write_spec("b", {**MOTION, **change})).spec_hash != base, change


def test_search_on_a_motion_spec_is_a_clear_error(write_spec, capsys):
    from mrsynth.cli import main

    assert main(["search", str(write_spec("m", MOTION))]) == 1
    err = capsys.readouterr().err
    assert "mrsynth: mq: a motion_qc spec has no search space" in err and "mrsynth run" in err


def test_validate_accepts_a_motion_spec(write_spec, capsys):
    from mrsynth.cli import main

    assert main(["validate", str(write_spec("m", MOTION))]) == 0
    assert capsys.readouterr().out.startswith("ok  mq  ")


def test_schema_covers_both_kinds():
    from mrsynth.spec.schema import spec_schema

    schema = spec_schema()
    assert schema["if"]["properties"]["kind"]["const"] == "motion_qc"
    assert schema["then"]["$ref"].endswith("MotionQCExperiment") and schema["else"]["$ref"].endswith("/Experiment")
    motion = schema["$defs"]["MotionQCExperiment"]["properties"]
    assert {"$schema", "kind", "data", "motion", "model", "train", "transfer"} <= set(motion)
    assert {"$schema", "kind", "loss", "masking"} <= set(schema["$defs"]["Experiment"]["properties"])
    qc = schema["$defs"]["QCSpec"]["properties"]
    assert "max_motion_score" in qc and "motion_model" in qc
    assert "RMS deviation" in json.dumps(schema["$defs"]["MotionSpec"])


def test_motion_filter_needs_a_model(write_spec):
    (line,) = problems_of(write_spec("t", {"name": "t", "data": {"qc": {"max_motion_score": 2.0}}}))
    assert "data.qc: max_motion_score needs motion_model" in line


def test_unused_motion_filter_does_not_change_the_hash_but_using_it_does(write_spec):
    plain = load_spec(write_spec("a", {"name": "t"}))
    assert "max_motion_score" not in plain.experiment.resolved()["data"]["qc"]
    scored = load_spec(write_spec("b", {"name": "t", "data": {"qc": {"motion_model": "motion-qc"}}}))
    limited = load_spec(write_spec("c", {"name": "t", "data": {"qc": {"motion_model": "motion-qc", "max_motion_score": 2}}}))
    assert len({plain.spec_hash, scored.spec_hash, limited.spec_hash}) == 3
    assert limited.experiment.resolved()["data"]["qc"]["max_motion_score"] == 2.0


@pytest.mark.parametrize("command", ["preprocess", "qc"])
def test_translation_data_commands_refuse_a_motion_spec(write_spec, capsys, command):
    from mrsynth.cli import main

    assert main([command, str(write_spec("m", MOTION))]) == 1
    assert f"`mrsynth {command}` works on translation specs" in capsys.readouterr().err
