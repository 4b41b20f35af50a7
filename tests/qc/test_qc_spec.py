"""The `data.qc` spec section: defaults, ranges, nulls, and the exported METRIC_RANGES."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from mrsynth.spec.qc import METRIC_RANGES, QCSpec


def test_defaults_are_valid_and_documented():
    qc = QCSpec()
    assert qc.enabled and qc.max_offset == 2 and qc.bins == 32 and qc.min_brain_fraction == 0.1
    assert qc.min_ncc is None  # cross-contrast pairs are anti-correlated
    schema = QCSpec.model_json_schema()["properties"]
    assert all(schema[name].get("description") for name in QCSpec.model_fields)


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [("min_dice", 1.7, "less_than_equal"), ("min_ncc", -1.5, "greater_than_equal"),
     ("min_edge_corr", 2.0, "less_than_equal"), ("min_mi", -0.1, "greater_than_equal"),
     ("min_brain_fraction", 1.01, "less_than_equal"), ("max_offset", -1, "greater_than_equal"),
     ("min_mi_delta", -0.01, "greater_than_equal"), ("bins", 1, "greater_than_equal")],
)
def test_out_of_range_thresholds_are_rejected_with_the_bound(field, value, rule):
    with pytest.raises(ValidationError) as caught:
        QCSpec(**{field: value})
    (error,) = caught.value.errors()
    assert error["loc"] == (field,) and error["type"] == rule and error["input"] == value
    bound = error["ctx"].get("le", error["ctx"].get("ge"))
    assert bound in METRIC_RANGES[field]


def test_every_threshold_accepts_null():
    qc = QCSpec(min_dice=None, min_ncc=None, min_mi=None, min_edge_corr=None, max_abs_offset=None,
                min_mi_delta=None, min_brain_fraction=None)
    assert qc.min_dice is None and qc.max_abs_offset is None


def test_unknown_keys_are_rejected_and_the_section_is_frozen():
    with pytest.raises(ValidationError, match="extra"):
        QCSpec(min_nc=0.2)
    with pytest.raises(ValidationError):
        QCSpec().min_dice = 0.5


def test_an_offset_limit_the_search_cannot_exceed_is_rejected():
    with pytest.raises(ValidationError, match="max_abs_offset must be < max_offset"):
        QCSpec(max_offset=2, max_abs_offset=2)
    assert QCSpec(max_offset=1, max_abs_offset=None).max_offset == 1


def test_metric_ranges_cover_the_numeric_fields_and_match_the_schema():
    # the volume-level motion filter (a model reference and an exclusive bound) is validated on its own
    motion = {"max_motion_score", "motion_model"}
    numeric = {name for name in QCSpec.model_fields if name != "enabled"} - motion
    assert set(METRIC_RANGES) == numeric
    schema = QCSpec.model_json_schema()["properties"]
    for name, (low, high) in METRIC_RANGES.items():
        options = schema[name].get("anyOf", [schema[name]])
        bounded = next(option for option in options if option.get("type") in ("number", "integer"))
        assert bounded["minimum"] == low
        assert bounded.get("maximum", math.inf) == high
