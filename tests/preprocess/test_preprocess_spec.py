"""The preprocess spec section: documented, strict, validated."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mrsynth.spec.preprocess import AntsMask, DeepbetSkullStrip, PreprocessSpec


def test_every_field_is_documented_in_the_schema():
    schema = PreprocessSpec.model_json_schema()
    models = {"PreprocessSpec": schema, **schema["$defs"]}
    undocumented = [f"{name}.{field}" for name, model in models.items()
                    for field, prop in model.get("properties", {}).items() if not prop.get("description")]
    assert undocumented == []


def test_defaults_cross_contrast_rigid_mutual_information():
    spec = PreprocessSpec()
    assert spec.registration.kind == "rigid" and spec.registration.metric == "mattes"
    assert spec.normalise.p_low == 1.0 and spec.normalise.p_high == 99.0 and spec.normalise.clip
    assert spec.n4.enabled and spec.skull_strip == DeepbetSkullStrip(threshold=0.5, dilation=0)


@pytest.mark.parametrize("fields", [{"threshold": 0.0}, {"threshold": 1.0}, {"dilation": 11}, {"dilation": 0.5}])
def test_deepbet_threshold_is_a_probability_and_dilation_whole_layers(fields):
    with pytest.raises(ValidationError):
        PreprocessSpec.model_validate({"skull_strip": {"kind": "deepbet", **fields}})


def test_skull_strip_is_chosen_by_kind():
    spec = PreprocessSpec.model_validate({"skull_strip": {"kind": "ants_mask", "cleanup": 3}})
    assert spec.skull_strip == AntsMask(cleanup=3)
    with pytest.raises(ValidationError, match="kind"):
        PreprocessSpec.model_validate({"skull_strip": {"kind": "bet"}})


@pytest.mark.parametrize("section", [
    {"normalise": {"p_low": 99.0, "p_high": 1.0}},
    {"registration": {"iterations": [100, 50], "pyramid_mm": [4.0]}},
    {"registration": {"metric": "CC"}},
    {"n4": {"iterations": []}},
    {"min_overlap_dice": 1.5},
    {"n4": {"shrink": 4}},
])
def test_invalid_sections_are_rejected(section):
    with pytest.raises(ValidationError):
        PreprocessSpec.model_validate(section)


def test_round_trips_through_json():
    spec = PreprocessSpec.model_validate({"registration": {"kind": "affine", "seed": 7}})
    assert PreprocessSpec.model_validate_json(spec.model_dump_json()) == spec
