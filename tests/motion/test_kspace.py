from __future__ import annotations

import numpy as np
import pytest
from motion_helpers import VOXEL_MM

from mrsynth.motion.kspace import motion_corrupted, moved_spectrum, random_segments, segment_energy
from mrsynth.motion.score import rigid_matrix


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_zero_motion_returns_the_input(phantom, axis):
    n = phantom.shape[axis]
    still = [(0, 10, np.eye(4)), (10, n // 2 + 3, np.eye(4)), (n // 2 + 3, n, np.eye(4))]
    out = motion_corrupted(phantom, still, VOXEL_MM, axis)
    assert np.abs(out - phantom).max() < 1e-5


def test_one_segment_moved_everywhere_is_the_moved_image(phantom):
    """When every line sees the same translation, the image is the translated image (no artefact)."""
    pose = rigid_matrix([0, 0, 0], [2 * VOXEL_MM[0], 0, 0])  # two whole voxels along x
    out = motion_corrupted(phantom, [(0, phantom.shape[1], pose)], VOXEL_MM, 1)
    assert np.abs(out - np.roll(phantom, 2, axis=0)).max() < 1e-4


def test_translation_is_a_fourier_shift(phantom):
    pose = rigid_matrix([0, 0, 0], [0, -VOXEL_MM[1], 0])
    image = np.fft.ifftn(np.fft.ifftshift(moved_spectrum(phantom, pose, VOXEL_MM))).real
    assert np.abs(image - np.roll(phantom, -1, axis=1)).max() < 1e-5


def test_motion_in_outer_lines_leaves_a_ghosting_artefact_that_grows_with_motion(phantom):
    n = phantom.shape[1]
    errors = []
    for shift in (0.0, 3.0, 6.0, 12.0):
        moved = rigid_matrix([0, 0, 0], [0, shift, 0])
        segments = [(0, n // 2 - 4, moved), (n // 2 - 4, n // 2 + 4, np.eye(4)), (n // 2 + 4, n, moved)]
        errors.append(np.abs(motion_corrupted(phantom, segments, VOXEL_MM, 1) - phantom).mean())
    assert errors[0] < 1e-6 and np.all(np.diff(errors) > 0)


def test_segments_must_cover_every_line(phantom):
    with pytest.raises(ValueError, match="cover"):
        motion_corrupted(phantom, [(0, 5, np.eye(4))], VOXEL_MM, 1)


def test_centre_lines_hold_most_energy(phantom):
    n = phantom.shape[1]
    segments = [(0, n // 2 - 3, None), (n // 2 - 3, n // 2 + 3, None), (n // 2 + 3, n, None)]
    energy = segment_energy(phantom, segments, 1)
    assert energy.sum() == pytest.approx(1.0) and energy[1] > 0.5


def test_random_segments_tile_the_lines():
    rng = np.random.default_rng(0)
    for states in (1, 2, 5):
        segments = random_segments(32, states, rng)
        assert len(segments) == states
        assert segments[0][0] == 0 and segments[-1][1] == 32
        assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(segments[:-1], segments[1:], strict=True))
