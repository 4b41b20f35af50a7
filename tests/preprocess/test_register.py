"""Registration undoes a known motion (same and cross contrast), reports the true transform, is reproducible."""

from __future__ import annotations

import os

import numpy as np
import pytest

from mrsynth.preprocess.register import (
    Grid,
    mask_dice,
    mutual_information,
    register_to_target,
    shrink_factors,
)
from mrsynth.preprocess.threads import ITK_THREADS_VARIABLE
from mrsynth.spec.preprocess import RegistrationSpec

# Three voxels (2 mm each) of shift and a 5 degree rotation, as the brief asks, plus a tilt.
SHIFT_MM = (6.0, -4.0, 2.0)


@pytest.fixture
def moved_pair(phantoms):
    """Target (T2), source moved by a known rigid motion in both contrasts, and the ideal unmoved T1."""
    motion = phantoms.motion(SHIFT_MM, degrees_about_z=5.0, degrees_about_x=3.0)
    target, target_brain, affine = phantoms.image("t2", skull=False)
    sources = {c: phantoms.image(c, motion=motion, skull=False)[0] for c in ("t1", "t2")}
    ideal_t1 = phantoms.image("t1", skull=False)[0]
    return motion, Grid(target, affine, target > 0), sources, ideal_t1, affine


def _rms_error_mm(estimate: np.ndarray, truth: np.ndarray, mask: np.ndarray, affine: np.ndarray) -> float:
    """RMS distance between where the estimated and the true transform send the brain's voxels."""
    points = np.c_[np.argwhere(mask) @ affine[:3, :3].T + affine[:3, 3], np.ones(int(mask.sum()))]
    return float(np.sqrt(np.mean(np.sum(((points @ estimate.T) - (points @ truth.T))[:, :3] ** 2, axis=1))))


def test_rigid_same_contrast_recovers_motion(moved_pair):
    motion, target, sources, _, affine = moved_pair
    source = Grid(sources["t2"], affine, sources["t2"] > 0)
    result = register_to_target(source, target, RegistrationSpec(kind="rigid"))
    before = np.abs(source.array - target.array)[target.mask].mean()
    after = np.abs(result.image - target.array)[target.mask].mean()
    assert result.info["dice_before"] < 0.8 < 0.95 < result.info["dice_after"]
    assert after < 0.4 * before
    # Half a voxel (1 mm) at most, anywhere in the brain.
    assert _rms_error_mm(result.transform, motion, source.mask, affine) < 1.0


def test_rigid_cross_contrast_recovers_motion(moved_pair):
    motion, target, sources, ideal_t1, affine = moved_pair
    source = Grid(sources["t1"], affine, sources["t1"] > 0)
    result = register_to_target(source, target, RegistrationSpec(kind="rigid"))
    # The T1 brought into the T2's space should look like the T1 that was never moved.
    before = np.abs(source.array - ideal_t1)[target.mask].mean()
    after = np.abs(result.image - ideal_t1)[target.mask].mean()
    assert result.info["dice_after"] > 0.95 > 0.8 > result.info["dice_before"]
    assert result.info["mutual_information_after"] > result.info["mutual_information_before"]
    assert after < 0.4 * before
    assert _rms_error_mm(result.transform, motion, source.mask, affine) < 1.0


def test_affine_cross_contrast_reduces_misregistration(moved_pair):
    _, target, sources, ideal_t1, affine = moved_pair
    source = Grid(sources["t1"], affine, sources["t1"] > 0)
    result = register_to_target(source, target, RegistrationSpec(kind="affine"))
    before = np.abs(source.array - ideal_t1)[target.mask].mean()
    after = np.abs(result.image - ideal_t1)[target.mask].mean()
    assert result.info["dice_after"] > 0.95 > 0.8 > result.info["dice_before"]
    assert after < 0.4 * before


def test_registration_is_reproducible(moved_pair):
    if os.environ.get(ITK_THREADS_VARIABLE, "1") != "1":
        pytest.skip("bit-identical registrations need single-threaded ITK")
    _, target, sources, _, affine = moved_pair
    source = Grid(sources["t1"], affine, sources["t1"] > 0)
    first = register_to_target(source, target, RegistrationSpec(kind="rigid", seed=3))
    second = register_to_target(source, target, RegistrationSpec(kind="rigid", seed=3))
    assert np.array_equal(first.transform, second.transform)
    assert np.array_equal(first.image, second.image)


def test_source_lands_in_target_grid(phantoms):
    # A source on a coarser, shifted grid: the output must take the target's shape, in the same world.
    target, _, target_affine = phantoms.image("t2", skull=False)
    coarse = np.diag([3.0, 3.0, 3.0, 1.0])
    coarse[:3, 3] = (-40.0, -42.0, -30.0)
    source, _, source_affine = phantoms.image("t1", shape=(28, 28, 22), affine=coarse, skull=False)
    result = register_to_target(Grid(source, source_affine, source > 0), Grid(target, target_affine, target > 0),
                                RegistrationSpec(kind="none"))
    assert result.image.shape == target.shape and result.mask.shape == target.shape
    assert result.transform is None
    # Identical anatomy in world space: without any registration the masks already agree.
    assert mask_dice(result.mask, target > 0) > 0.9


def test_shrink_factors_follow_voxel_size():
    assert shrink_factors((8.0, 4.0, 2.0), np.diag([1.0, 1.0, 1.0, 1.0])) == (8, 4, 2)
    assert shrink_factors((8.0, 4.0, 2.0), np.diag([2.0, 2.0, 3.0, 1.0])) == (4, 2, 1)
    assert shrink_factors((1.0,), np.diag([2.0, 2.0, 2.0, 1.0])) == (1,)


def test_mutual_information_of_independent_and_dependent_samples():
    rng = np.random.default_rng(0)
    a = rng.uniform(size=20000)
    assert mutual_information(a, rng.uniform(size=20000), bins=16) < 0.05
    # Identical samples reach the entropy of 16 equal bins; a monotone nonlinear relation (as between
    # contrasts) keeps most of it.
    assert mutual_information(a, a, bins=16) == pytest.approx(np.log(16), rel=0.01)
    assert mutual_information(a, np.exp(-3 * a), bins=16) > 0.5 * np.log(16)


def test_mask_centroid_start_recovers_a_far_header_offset(phantoms):
    # Scanner origins can differ by centimetres; the brains do not overlap at all in world space.
    target, _, affine = phantoms.image("t2", skull=False)
    anatomy = phantoms.motion((2.0, -2.0, 2.0), degrees_about_z=4.0)
    source = phantoms.image("t1", motion=anatomy, skull=False)[0]
    header = phantoms.motion((80.0, 60.0, -50.0), degrees_about_z=10.0)
    moved = Grid(source, header @ affine, source > 0)
    result = register_to_target(moved, Grid(target, affine, target > 0), RegistrationSpec(kind="rigid"))
    assert result.info["dice_before"] == 0.0 and result.info["dice_after"] > 0.95
    truth = anatomy @ np.linalg.inv(header)
    assert _rms_error_mm(result.transform, truth, moved.mask, moved.affine) < 2.0
