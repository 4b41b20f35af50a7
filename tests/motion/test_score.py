from __future__ import annotations

import numpy as np
import pytest

from mrsynth.motion.score import motion_score, rigid_matrix, rms_between, rms_deviation


def _sphere_points(radius: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Points uniform in a ball of `radius` (rejection sampling)."""
    points = rng.uniform(-radius, radius, (n * 3, 3))
    return points[np.linalg.norm(points, axis=1) <= radius][:n]


def test_identity_has_zero_deviation():
    assert rms_deviation(np.eye(4)) == 0.0
    assert rms_between(rigid_matrix([3, 2, 1], [4, 5, 6]), rigid_matrix([3, 2, 1], [4, 5, 6])) == pytest.approx(0.0, abs=1e-9)


def test_pure_translation_deviates_by_its_length():
    assert rms_deviation(rigid_matrix([0, 0, 0], [3.0, 4.0, 0.0])) == pytest.approx(5.0)


def test_closed_form_matches_the_mean_over_points_of_the_ball():
    rng = np.random.default_rng(0)
    points = _sphere_points(80.0, 200_000, rng)
    matrix = rigid_matrix([4.0, -3.0, 5.0], [2.0, -6.0, 1.5])
    moved = points @ matrix[:3, :3].T + matrix[:3, 3]
    empirical = np.sqrt(np.mean(np.sum((moved - points) ** 2, axis=1)))
    assert rms_deviation(matrix, 80.0) == pytest.approx(empirical, rel=0.01)


def test_sphere_centre_off_the_rotation_centre_adds_the_displacement_of_the_centre():
    matrix = rigid_matrix([0, 0, 10.0], [0, 0, 0])
    centre = np.array([50.0, 0.0, 0.0])
    shift = np.linalg.norm(matrix[:3, :3] @ centre - centre)
    expected = np.sqrt(rms_deviation(matrix, 80.0) ** 2 + shift**2)
    assert rms_deviation(matrix, 80.0, centre) == pytest.approx(expected)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_deviation_grows_monotonically_with_rotation(axis):
    angles = np.linspace(0, 20, 21)
    values = [rms_deviation(rigid_matrix(np.eye(3)[axis] * a, [0, 0, 0])) for a in angles]
    assert np.all(np.diff(values) > 0)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_deviation_grows_monotonically_with_translation(axis):
    shifts = np.linspace(0, 10, 11)
    values = [rms_deviation(rigid_matrix([1.0, 0.5, 0.0], np.eye(3)[axis] * s)) for s in shifts]
    assert np.all(np.diff(values) > 0)


def test_deviation_grows_with_the_sphere_radius_under_rotation():
    matrix = rigid_matrix([5, 0, 0], [0, 0, 0])
    assert rms_deviation(matrix, 40.0) < rms_deviation(matrix, 80.0)


def test_volume_score_is_the_weighted_rms_over_segments():
    poses = np.stack([np.eye(4), rigid_matrix([0, 0, 0], [6, 0, 0]), rigid_matrix([0, 0, 0], [0, 8, 0])])
    assert motion_score(poses, [0.5, 0.25, 0.25]) == pytest.approx(np.sqrt(0.25 * 36 + 0.25 * 64))
    assert motion_score(poses[:1], [1.0]) == 0.0
