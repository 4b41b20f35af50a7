from __future__ import annotations

import numpy as np
import pytest
import torch

from mrsynth.errors import DataError
from mrsynth.nn import (
    extract_patches,
    grid_corners,
    predict_volume_by_patches,
    reconstruct_from_patches,
    sample_patches,
)


@pytest.mark.parametrize(("shape", "size", "stride"), [((32, 40, 24), 16, 8), ((37, 45, 29), 16, 8), ((20, 17), 8, 5)])
def test_grid_covers_the_volume_with_the_last_patch_flush(shape, size, stride):
    corners = grid_corners(shape, size, stride)
    covered = np.zeros(shape, dtype=int)
    for corner in corners:
        covered[tuple(slice(c, c + size) for c in corner)] += 1
    assert covered.min() >= 1
    for axis, n in enumerate(shape):
        starts = np.unique(corners[:, axis])
        assert starts[0] == 0 and starts[-1] == n - size
        assert np.all(np.diff(starts) <= stride)
        assert np.all(np.diff(starts)[:-1] == stride)


@pytest.mark.parametrize("shape", [(32, 32, 32), (37, 45, 29)])
def test_rebuilding_a_volume_from_its_own_patches_is_exact(shape):
    volume = np.random.default_rng(0).standard_normal(shape)
    corners = grid_corners(shape, 16, 8)
    rebuilt = reconstruct_from_patches(extract_patches(volume, corners, 16), corners, shape)
    np.testing.assert_allclose(rebuilt, volume, rtol=0, atol=1e-12)


def test_leading_channel_axis_and_weights():
    volume = np.random.default_rng(1).standard_normal((2, 21, 19, 18))
    corners = grid_corners(volume.shape[1:], 8, 4)
    patches = extract_patches(volume, corners, 8)
    assert patches.shape == (len(corners), 2, 8, 8, 8)
    centre_heavy = np.exp(-((np.arange(8) - 3.5) ** 2) / 8.0)
    window = centre_heavy[:, None, None] * centre_heavy[None, :, None] * centre_heavy[None, None, :]
    rebuilt = reconstruct_from_patches(patches, corners, volume.shape[1:], weights=window)
    np.testing.assert_allclose(rebuilt, volume, atol=1e-12)


def test_overlaps_are_averaged_and_uncovered_voxels_filled():
    patches = np.stack([np.full((2, 2), 1.0), np.full((2, 2), 3.0)])
    rebuilt = reconstruct_from_patches(patches, np.array([[0, 0], [0, 1]]), (3, 4), fill=-1.0)
    expected = np.array([[1, 2, 3, -1], [1, 2, 3, -1], [-1, -1, -1, -1]], dtype=float)
    np.testing.assert_array_equal(rebuilt, expected)


def test_sampled_patch_centres_lie_in_the_mask():
    rng = np.random.default_rng(2)
    volume = rng.standard_normal((2, 40, 36, 30))
    mask = np.zeros((40, 36, 30), dtype=bool)
    mask[5:12, 20:34, 3:27] = True  # partly too close to the border to centre a 16-voxel patch
    patches, corners = sample_patches(volume, mask, size=16, count=200, rng=np.random.default_rng(3))
    assert patches.shape == (200, 2, 16, 16, 16) and corners.shape == (200, 3)
    centres = corners + 8
    assert mask[tuple(centres.T)].all()
    assert (corners >= 0).all() and (corners + 16 <= np.array(mask.shape)).all()
    for patch, corner in zip(patches[:5], corners[:5], strict=True):
        np.testing.assert_array_equal(patch, volume[(slice(None), *(slice(c, c + 16) for c in corner))])
    assert len({tuple(c) for c in corners}) > 50  # spread over the allowed region, not one spot


def test_sampling_is_reproducible_with_a_seeded_rng():
    volume = np.random.default_rng(4).standard_normal((24, 24, 24))
    mask = volume > 0
    _, first = sample_patches(volume, mask, size=8, count=10, rng=np.random.default_rng(5))
    _, second = sample_patches(volume, mask, size=8, count=10, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(first, second)


def test_unusable_mask_or_volume_is_a_data_error():
    volume = np.zeros((20, 20, 20))
    edge_only = np.zeros((20, 20, 20), dtype=bool)
    edge_only[0, 0, 0] = True
    with pytest.raises(DataError, match="no voxel of the mask"):
        sample_patches(volume, edge_only, size=8, count=1, rng=np.random.default_rng(0))
    with pytest.raises(DataError, match="smaller than the patch"):
        sample_patches(volume, volume > -1, size=32, count=1)
    with pytest.raises(DataError, match="does not match"):
        sample_patches(volume, np.ones((20, 20, 19), dtype=bool), size=8, count=1)
    with pytest.raises(DataError, match="smaller than the patch"):
        grid_corners((20, 30, 30), 24)


def test_predict_by_patches_applies_fn_and_reassembles():
    volume = np.random.default_rng(6).standard_normal((1, 23, 20, 18)).astype(np.float32)
    calls = []

    def affine_two_channels(batch: torch.Tensor) -> torch.Tensor:
        calls.append(batch.shape[0])
        return torch.cat([2 * batch + 1, -batch], dim=1)

    out = predict_volume_by_patches(affine_two_channels, volume, size=12, stride=6, batch=5)
    assert out.shape == (2, 23, 20, 18) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], 2 * volume[0] + 1, atol=1e-5)
    np.testing.assert_allclose(out[1], -volume[0], atol=1e-5)
    assert max(calls) <= 5 and sum(calls) == len(grid_corners((23, 20, 18), 12, 6))


def test_predict_rejects_fn_that_changes_the_patch_size():
    volume = np.zeros((1, 16, 16, 16), dtype=np.float32)
    with pytest.raises(ValueError, match="spatial shape"):
        predict_volume_by_patches(lambda b: b[..., :4], volume, size=8, stride=8)
