from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrsynth.motion.bins import ScoreBins

BINS = ScoreBins(0.0, 12.0, 50, 1.0)


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=0.0, max_value=12.0, allow_nan=False))
def test_encoding_round_trips_a_score(score):
    label = BINS.soft_labels([score])
    assert BINS.decode(label)[0] == pytest.approx(score, abs=1e-4 * BINS.width)


def test_labels_are_probability_vectors_peaked_at_the_score():
    scores = np.array([0.0, 3.3, 7.0, 12.0])
    labels = BINS.soft_labels(scores)
    assert labels.shape == (4, 50)
    assert np.allclose(labels.sum(axis=1), 1.0) and (labels >= 0).all()
    assert np.abs(BINS.centres[labels.argmax(axis=1)] - scores).max() <= BINS.width


def test_interior_labels_are_gaussian_with_the_requested_width():
    label = BINS.soft_labels([6.0])[0]
    spread = np.sqrt(label @ (BINS.centres - 6.0) ** 2)
    assert spread == pytest.approx(BINS.width, rel=0.02)


def test_scores_outside_the_range_are_clipped():
    assert BINS.decode(BINS.soft_labels([-3.0, 40.0])) == pytest.approx([0.0, 12.0], abs=1e-3)


def test_invalid_bins_are_refused():
    with pytest.raises(ValueError):
        ScoreBins(1.0, 1.0)
