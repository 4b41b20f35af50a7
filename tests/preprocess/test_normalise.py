"""Normalisation: p_low → -1 and p_high → 1 inside the mask, clipped, background -1, invertible."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrsynth.preprocess.normalise import denormalise, normalise, robust_scale
from mrsynth.spec.preprocess import NormaliseSpec


@pytest.fixture
def volume():
    rng = np.random.default_rng(1)
    array = rng.gamma(4.0, 50.0, size=(20, 20, 16)).astype(np.float32)
    mask = np.zeros(array.shape, bool)
    mask[3:17, 4:18, 2:14] = True
    array[~mask] = 1e4  # background outliers must not influence the scale
    return array, mask


def test_percentiles_map_to_minus_one_and_one(volume):
    array, mask = volume
    low, high = robust_scale(array, mask, NormaliseSpec())
    assert low == pytest.approx(np.percentile(array[mask], 1.0))
    assert high == pytest.approx(np.percentile(array[mask], 99.0))
    out = normalise(array, mask, (low, high), clip=False)
    inside = out[mask]
    assert np.percentile(inside, 1.0) == pytest.approx(-1.0, abs=1e-5)
    assert np.percentile(inside, 99.0) == pytest.approx(1.0, abs=1e-5)


def test_clipped_and_background_minus_one(volume):
    array, mask = volume
    scale = robust_scale(array, mask, NormaliseSpec())
    out = normalise(array, mask, scale, clip=True)
    assert out.dtype == np.float32
    assert out.min() == -1.0 and out.max() == 1.0
    assert np.all(out[~mask] == -1.0)
    # About 1% of the brain lies above p99 and is clipped to exactly 1.
    assert 0.005 < np.mean(out[mask] == 1.0) < 0.02
    unclipped = normalise(array, mask, scale, clip=False)
    assert unclipped[mask].max() > 1.0 and unclipped[mask].min() < -1.0


def test_denormalise_inverts_inside_the_range(volume):
    array, mask = volume
    scale = robust_scale(array, mask, NormaliseSpec(p_low=0.0, p_high=100.0))
    out = normalise(array, mask, scale)
    assert np.allclose(denormalise(out, scale)[mask], array[mask], rtol=1e-4, atol=1e-2)


def test_no_spread_inside_mask_is_an_error():
    array = np.full((6, 6, 6), 3.0, np.float32)
    with pytest.raises(ValueError, match="no spread"):
        robust_scale(array, np.ones(array.shape, bool), NormaliseSpec())


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=8, max_size=64, unique=True),
    p_low=st.floats(0.0, 40.0),
    p_high=st.floats(60.0, 100.0),
)
def test_output_is_bounded_and_order_preserving(values, p_low, p_high):
    array = np.asarray(values, np.float32)
    mask = np.ones(array.shape, bool)
    scale = robust_scale(array, mask, NormaliseSpec(p_low=p_low, p_high=p_high))
    out = normalise(array, mask, scale)
    assert np.all((out >= -1.0) & (out <= 1.0))
    order = np.argsort(array, kind="stable")
    assert np.all(np.diff(out[order]) >= 0)
