from __future__ import annotations

import numpy as np
import pytest
from motion_helpers import VOXEL_MM

from mrsynth.motion.augment import apply_augment, bias_field, draw_augment
from mrsynth.motion.simulate import draw_motion, generate_sample, sample_rng, true_score
from mrsynth.spec.motion import AugmentSpec, MotionSpec

NO_AUGMENT = AugmentSpec(flip_probability=0, scale_range=0, elastic_probability=0, bias_probability=0, gamma_probability=0)
ALWAYS = AugmentSpec(flip_probability=1, elastic_probability=1, bias_probability=1, gamma_probability=1)


def test_same_seed_same_sample_other_index_other_sample(phantom):
    spec = MotionSpec(clean_fraction=0.0)
    a, score_a, params_a = generate_sample(phantom, VOXEL_MM, spec, sample_rng(0, "ab" * 8, 3))
    b, score_b, params_b = generate_sample(phantom, VOXEL_MM, spec, sample_rng(0, "ab" * 8, 3))
    c, score_c, _ = generate_sample(phantom, VOXEL_MM, spec, sample_rng(0, "ab" * 8, 4))
    assert np.array_equal(a, b) and score_a == score_b and params_a == params_b
    assert not np.array_equal(a, c) and score_a != score_c


def test_clean_samples_score_zero_and_only_carry_the_other_transforms(phantom):
    spec = MotionSpec(clean_fraction=1.0, augment=NO_AUGMENT)
    sample, score, params = generate_sample(phantom, VOXEL_MM, spec, sample_rng(1, "cd" * 8, 0))
    assert score == 0.0 and params["motion"]["severity"] == 0.0
    scale = np.percentile(phantom, 99.5)
    assert np.abs(sample - np.clip(phantom / scale, 0, 2)).max() < 1e-4


def test_the_reference_segment_holds_the_kspace_centre_and_is_still():
    spec = MotionSpec(clean_fraction=0.0, states=(3, 5))
    for index in range(20):
        motion = draw_motion(spec, (32, 32, 24), sample_rng(0, "ef" * 8, index))
        n = (32, 32, 24)[motion["axis"]]
        centre = [s for s in motion["segments"] if s["start"] <= n // 2 < s["stop"]]
        assert len(centre) == 1 and not any(centre[0]["rotation_deg"]) and not any(centre[0]["translation_mm"])
        assert 3 <= len(motion["segments"]) <= 5 and motion["axis"] in spec.phase_encode_axes


def test_scores_grow_with_severity_of_the_same_draw(phantom):
    spec = MotionSpec(clean_fraction=0.0)
    motion = draw_motion(spec, phantom.shape, sample_rng(2, "01" * 8, 0))
    scores = []
    for factor in (0.0, 0.5, 1.0, 2.0):
        scaled = {**motion, "segments": [{**s, "rotation_deg": [factor * v for v in s["rotation_deg"]],
                                          "translation_mm": [factor * v for v in s["translation_mm"]]} for s in motion["segments"]]}
        scores.append(true_score(phantom, scaled, 80.0, "kspace_energy"))
    assert scores[0] == 0.0 and np.all(np.diff(scores) > 0)


def test_time_weighting_uses_line_fractions(phantom):
    n = phantom.shape[1]
    motion = {"axis": 1, "segments": [{"start": 0, "stop": n // 4, "rotation_deg": [0, 0, 0], "translation_mm": [4, 0, 0]},
                                      {"start": n // 4, "stop": n, "rotation_deg": [0, 0, 0], "translation_mm": [0, 0, 0]}]}
    assert true_score(phantom, motion, 80.0, "time") == pytest.approx(np.sqrt(0.25 * 16))


def test_no_augment_draw_passes_the_volume_through(phantom):
    params = draw_augment(NO_AUGMENT, np.random.default_rng(0))
    assert np.array_equal(apply_augment(phantom, params, NO_AUGMENT, VOXEL_MM), phantom.astype(np.float64))


def test_flip_mirrors_the_left_right_axis(phantom):
    spec = AugmentSpec(flip_probability=1, scale_range=0, elastic_probability=0, bias_probability=0, gamma_probability=0)
    params = draw_augment(spec, np.random.default_rng(0))
    assert np.array_equal(apply_augment(phantom, params, spec, VOXEL_MM), phantom[::-1].astype(np.float64))


def test_full_augmentation_changes_the_volume_but_keeps_it_non_negative(phantom):
    params = draw_augment(ALWAYS, np.random.default_rng(5))
    out = apply_augment(phantom, params, ALWAYS, VOXEL_MM)
    assert out.shape == phantom.shape and out.min() >= 0
    assert np.abs(out - phantom).mean() > 0.01


def test_bias_field_is_one_without_coefficients_and_a_cubic_in_log_space():
    assert np.allclose(bias_field((8, 8, 8), [0.0] * 20, 3), 1.0)
    field = bias_field((16, 16, 16), list(np.random.default_rng(0).uniform(-0.3, 0.3, 20)), 3)
    assert field.min() > 0 and field.std() > 0.05
    for axis in range(3):  # a degree-3 polynomial has vanishing fourth differences
        assert np.abs(np.diff(np.log(field), n=4, axis=axis)).max() < 1e-9
