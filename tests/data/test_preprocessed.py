"""Preprocess cache keys: the deepbet version joins the key of deepbet specs only."""

from __future__ import annotations

import mrsynth.preprocess.deepbet_strip as deepbet_strip
from mrsynth.cache import stage_key
from mrsynth.data.preprocessed import STAGE, VERSION, preprocess_key
from mrsynth.spec.preprocess import PreprocessSpec

PRINTS = {"source": "a" * 64, "target": "b" * 64}
DEEPBET = PreprocessSpec.model_validate({"skull_strip": {"kind": "deepbet"}})
THRESHOLD = PreprocessSpec.model_validate({"skull_strip": {"kind": "threshold"}})


def test_a_new_deepbet_version_rebuilds_deepbet_entries_only(monkeypatch):
    keys = {spec.skull_strip.kind: preprocess_key(PRINTS, spec) for spec in (DEEPBET, THRESHOLD)}
    monkeypatch.setattr(deepbet_strip, "deepbet_version", lambda: "9.9.9")
    assert preprocess_key(PRINTS, DEEPBET) != keys["deepbet"]
    assert preprocess_key(PRINTS, THRESHOLD) == keys["threshold"]


def test_other_methods_keep_the_keys_they_had_before_deepbet():
    before = stage_key(STAGE, VERSION, {"fingerprints": PRINTS, "preprocess": THRESHOLD.model_dump(mode="json")})
    assert preprocess_key(PRINTS, THRESHOLD) == before
