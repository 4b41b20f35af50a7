"""Vectorised slice-pair metrics: equal to the per-slice reference, and right on cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from qc_helpers import load_real_pair, random_masked_pair, smooth_volume

from mrsynth.qc.metrics import METRIC_COLUMNS, ROBUST_COLUMNS, slice_pair_metrics
from mrsynth.qc.reference import reference_slice_metrics


def assert_tables_equal(fast: pd.DataFrame, slow: pd.DataFrame) -> None:
    assert list(fast.columns) == list(slow.columns) == METRIC_COLUMNS + ROBUST_COLUMNS
    # 1e-6 relative; the tiny absolute term only covers values that are zero up to rounding
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(
    ("seed", "axis", "max_offset", "bins"),
    [(0, 2, 2, 32), (1, 0, 1, 16), (2, 1, 3, 32), (3, 2, 4, 7)],
)
def test_vectorised_equals_reference_on_random_masked_volumes(seed, axis, max_offset, bins):
    source, target, source_mask, target_mask = random_masked_pair(seed)
    args = dict(axis=axis, max_offset=max_offset, bins=bins, min_brain_fraction=0.0)
    fast = slice_pair_metrics(source, target, source_mask, target_mask, **args)
    slow = reference_slice_metrics(source, target, source_mask, target_mask, **args)
    assert len(fast) == source.shape[axis]
    assert_tables_equal(fast, slow)


def test_vectorised_equals_reference_without_masks():
    source, target, source_mask, target_mask = random_masked_pair(4)
    source, target = source * source_mask, target * target_mask  # masks become the non-zero voxels
    fast = slice_pair_metrics(source, target, min_brain_fraction=0.2)
    slow = reference_slice_metrics(source, target, min_brain_fraction=0.2)
    assert 0 < len(fast) < source.shape[2]
    assert_tables_equal(fast, slow)


def test_vectorised_equals_reference_on_a_real_pair():
    source, target = load_real_pair("brats-t1n-t2w")
    fast = slice_pair_metrics(source, target)
    slow = reference_slice_metrics(source, target)
    assert len(fast) > 80
    assert_tables_equal(fast, slow)


def test_degenerate_slices_follow_the_documented_rules():
    source, target, source_mask, target_mask = random_masked_pair(5)
    table = slice_pair_metrics(source, target, source_mask, target_mask, min_brain_fraction=0.0).set_index("slice")
    both_empty, source_empty, constant = table.loc[0], table.loc[1], table.loc[3]
    assert math.isnan(both_empty["dice"]) and math.isnan(both_empty["mi"]) and math.isnan(both_empty["ncc"])
    assert source_empty["dice"] == 0.0 and math.isnan(source_empty["mi"])
    assert math.isnan(constant["ncc"]) and constant["mi"] == 0.0
    assert table.loc[4:, ["dice", "ncc", "mi", "edge_corr"]].notna().all().all()


def test_identical_slices_give_dice_one_ncc_one_and_mi_equal_to_entropy():
    rng = np.random.default_rng(6)
    # 32 distinct integer levels, each level in its own bin; level counts chosen unequal
    levels = rng.choice(32, size=(16, 16, 5), p=np.linspace(1, 3, 32) / np.linspace(1, 3, 32).sum())
    volume = levels.astype(np.float32) + 1.0  # +1 so every voxel is inside the non-zero mask
    volume[0, 0, :], volume[0, 1, :] = 1.0, 32.0  # every slice spans the full range of levels
    table = slice_pair_metrics(volume, volume.copy(), min_brain_fraction=0.0)
    for z, row in table.set_index("slice").iterrows():
        counts = np.bincount((volume[..., z] - 1).astype(int).ravel(), minlength=32)
        p = counts[counts > 0] / counts.sum()
        assert row["dice"] == 1.0
        assert row["ncc"] == pytest.approx(1.0, abs=1e-12)
        assert row["edge_corr"] == pytest.approx(1.0, abs=1e-12)
        assert row["mi"] == pytest.approx(-(p * np.log(p)).sum(), rel=1e-9)
        assert row["brain_fraction"] == 1.0


@pytest.mark.parametrize("shift", [-2, 1, 2, 3])
def test_best_offset_recovers_a_known_shift(shift):
    rng = np.random.default_rng(7)
    source = smooth_volume(rng, (24, 24, 30)) + 5.0
    target = np.roll(source, shift, axis=2)  # target[z] = source[z - shift]: source z matches target z + shift
    table = slice_pair_metrics(source, target, max_offset=3, min_brain_fraction=0.0)
    # slices whose matching target slice z + shift exists and did not wrap around
    inside = table[(table["slice"] + shift >= max(shift, 0)) & (table["slice"] + shift < 30 + min(shift, 0))]
    assert len(inside) >= 30 - 2 * abs(shift)
    assert (inside["best_offset"] == shift).all()
    assert (inside["mi_delta"] > 0).all()
    assert (inside["slab_offset"] == shift).all()


def test_identical_volumes_have_best_offset_zero():
    rng = np.random.default_rng(8)
    source = smooth_volume(rng, (20, 20, 16)) + 5.0
    table = slice_pair_metrics(source, source.copy(), max_offset=2, min_brain_fraction=0.0)
    assert (table["best_offset"] == 0).all() and (table["mi_delta"] == 0).all()
    assert (table["slab_offset"] == 0).all()


def test_only_slices_above_the_brain_fraction_are_listed():
    volume = np.zeros((10, 10, 6), np.float32)
    for z, side in enumerate([0, 2, 3, 5, 8, 10]):
        volume[:side, :side, z] = 1.0 + np.arange(side * side).reshape(side, side)
    table = slice_pair_metrics(volume, volume, min_brain_fraction=0.25)
    assert table["slice"].tolist() == [3, 4, 5]  # fractions 0.25, 0.64, 1.0
    assert table["brain_fraction"].tolist() == pytest.approx([0.25, 0.64, 1.0])


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="shape"):
        slice_pair_metrics(np.ones((4, 4, 4)), np.ones((4, 4, 5)))


@pytest.mark.parametrize("threads", ["1", "2"])
def test_one_slice_runs_on_threads_equal_the_reference(monkeypatch, threads):
    import mrsynth.qc.runs as runs

    monkeypatch.setattr(runs, "CHUNK_VOXELS", 1)  # every slice its own run, empty-mask slices included
    monkeypatch.setenv(runs.THREADS_VARIABLE, threads)
    source, target, source_mask, target_mask = random_masked_pair(9, shape=(18, 20, 14))
    args = dict(axis=2, max_offset=2, bins=16, min_brain_fraction=0.0)
    fast = slice_pair_metrics(source, target, source_mask.astype(np.uint8), target_mask.astype(np.uint8), **args)
    assert_tables_equal(fast, reference_slice_metrics(source, target, source_mask, target_mask, **args))


@pytest.mark.parametrize("given", ["source", "target"])
def test_one_given_mask_and_one_nonzero_mask_equal_the_reference(given):
    source, target, source_mask, target_mask = random_masked_pair(10)
    source, target = source * source_mask, target * target_mask  # the other mask comes from its zeros
    masks = {"source_mask": source_mask} if given == "source" else {"target_mask": target_mask.astype(np.uint8)}
    args = dict(axis=1, max_offset=2, bins=16, min_brain_fraction=0.05)
    fast = slice_pair_metrics(np.asfortranarray(source), target, **masks, **args)
    assert len(fast) > 10
    assert_tables_equal(fast, reference_slice_metrics(source, target, **masks, **args))


def test_fortran_ordered_volumes_give_the_same_table_as_c_ordered_ones():
    source, target, source_mask, target_mask = random_masked_pair(11)
    args = dict(axis=2, max_offset=2, bins=32, min_brain_fraction=0.0)
    c_ordered = slice_pair_metrics(source, target, source_mask, target_mask, **args)
    fortran = slice_pair_metrics(*(np.asfortranarray(a) for a in (source, target, source_mask, target_mask)), **args)
    assert_tables_equal(fortran, c_ordered)


def test_read_only_volumes_are_accepted():
    source, target, source_mask, target_mask = random_masked_pair(12)
    arrays = [source, target, source_mask, target_mask]
    expected = slice_pair_metrics(*arrays, min_brain_fraction=0.0)
    for array in arrays:
        array.flags.writeable = False  # as memory-mapped inputs are
    assert_tables_equal(slice_pair_metrics(*arrays, min_brain_fraction=0.0), expected)
