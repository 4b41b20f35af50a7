"""Offset curves: argmax with its tie-break, and slab pooling, on hand-made curves."""

from __future__ import annotations

import numpy as np
import pytest

from mrsynth.qc.offset import best_offsets, offsets, slab_median_curves

nan = np.nan


def test_offsets_run_from_minus_k_to_k():
    assert offsets(2).tolist() == [-2, -1, 0, 1, 2]


def test_best_offset_is_the_argmax_and_delta_its_gain_over_zero():
    curves = np.array([[0.1, 0.5, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.2, 0.4]])
    best, delta = best_offsets(curves, 2)
    assert best.tolist() == [-1, 2]
    assert delta == pytest.approx([0.2, 0.1])


def test_ties_go_to_zero_then_to_the_negative_offset():
    curves = np.array([[0.5, 0.5, 0.5, 0.5, 0.5], [0.1, 0.4, 0.2, 0.4, 0.1], [0.3, 0.1, 0.2, 0.1, 0.3]])
    best, delta = best_offsets(curves, 2)
    assert best.tolist() == [0, -1, -2]
    assert delta == pytest.approx([0.0, 0.2, 0.1])


def test_missing_offsets_are_skipped_and_an_empty_curve_gives_zero_and_nan():
    curves = np.array([[nan, nan, 0.2, 0.3, 0.9], [nan, nan, nan, nan, nan]])
    best, delta = best_offsets(curves, 2)
    assert best.tolist() == [2, 0]
    assert delta[0] == pytest.approx(0.7) and np.isnan(delta[1])


def test_slab_median_pools_listed_neighbours_and_ignores_missing_values():
    # slices 3, 4, 5 and 8 listed; radius 1: slice 4 pools 3, 4, 5; slice 8 has no listed neighbour
    curves = np.array([[1.0, 2.0], [3.0, nan], [9.0, 6.0], [7.0, 8.0]])
    pooled = slab_median_curves(curves, np.array([3, 4, 5, 8]), radius=1)
    expected = [[2.0, 2.0], [3.0, 4.0], [6.0, 6.0], [7.0, 8.0]]
    assert pooled.tolist() == expected


def test_slab_median_stops_at_the_edge_of_a_shifted_run():
    # slices 0-4 peak at offset 0, slices 5-9 at +1: every slice's slab majority is on its own side
    curves = np.tile([0.1, 0.2, 0.5, 0.2, 0.1], (10, 1))
    curves[5:] = [0.1, 0.1, 0.2, 0.5, 0.2]
    pooled, _ = best_offsets(slab_median_curves(curves, np.arange(10), radius=2), 2)
    assert pooled.tolist() == [0] * 5 + [1] * 5


def test_slab_pooling_outvotes_one_noisy_slice():
    # five slices whose curves peak at 0, one of them noisy with a slightly higher value at +2
    curves = np.tile([0.1, 0.2, 0.5, 0.2, 0.1], (5, 1))
    curves[2] = [0.1, 0.2, 0.5, 0.2, 0.55]
    raw, _ = best_offsets(curves, 2)
    pooled, _ = best_offsets(slab_median_curves(curves, np.arange(5), radius=2), 2)
    assert raw[2] == 2 and (pooled == 0).all()
