"""prepare_pair / prepare_single end to end on NIfTI phantoms written to disk."""

from __future__ import annotations

import numpy as np
import pytest

from mrsynth.errors import DataError
from mrsynth.preprocess import PreparedPair, prepare_pair, prepare_single
from mrsynth.preprocess.register import mask_dice
from mrsynth.spec.preprocess import N4Spec, PreprocessSpec, ProvidedMasks, ThresholdSkullStrip

MOTION = dict(shift_mm=(6.0, -4.0, 2.0), degrees_about_z=5.0)


@pytest.fixture
def skull_pair(tmp_path, phantoms):
    """Same-contrast pair with skulls (as 3T → 7T): the source moved by a known motion."""
    motion = phantoms.motion(**MOTION)
    source, source_brain, affine = phantoms.image("t1", motion=motion)
    target, target_brain, _ = phantoms.image("t1", noise=0.02)
    paths = (phantoms.save(tmp_path / "sub01_3T.nii.gz", source, affine),
             phantoms.save(tmp_path / "sub01_7T.nii.gz", target, affine))
    return paths, motion, target_brain, affine


def test_prepare_pair_skull_stripped_registered_normalised(skull_pair):
    (source, target), motion, target_brain, affine = skull_pair
    spec = PreprocessSpec(skull_strip=ThresholdSkullStrip(), n4=N4Spec(shrink_factor=2, iterations=(20, 20)))
    pair = prepare_pair("sub01", source, target, None, None, spec)
    assert isinstance(pair, PreparedPair)
    for array in (pair.source, pair.target):
        assert array.shape == target_brain.shape and array.dtype == np.float32
        assert array.min() == -1.0 and array.max() == 1.0
    for mask in (pair.source_mask, pair.target_mask, pair.intersection):
        assert mask.shape == target_brain.shape and mask.dtype == bool
    assert np.all(pair.source[~pair.source_mask] == -1.0) and np.all(pair.target[~pair.target_mask] == -1.0)
    assert np.array_equal(pair.intersection, pair.source_mask & pair.target_mask)
    assert np.allclose(pair.affine, affine)
    assert mask_dice(pair.target_mask, target_brain) > 0.95
    assert mask_dice(pair.source_mask, target_brain) > 0.93
    assert pair.info["dice_after"] > pair.info["dice_before"]
    assert np.abs(pair.transform[:3, 3] - motion[:3, 3]).max() < 0.75
    assert pair.target_scale[0] < pair.target_scale[1] and pair.source_scale[0] < pair.source_scale[1]
    # Same contrast, aligned: the normalised images agree inside the shared brain.
    assert np.corrcoef(pair.source[pair.intersection], pair.target[pair.intersection])[0, 1] > 0.8


def test_prepare_single_matches_target_of_pair(skull_pair, fast_spec):
    (source, target), _, _, affine = skull_pair
    spec = fast_spec.model_copy(update={"skull_strip": ThresholdSkullStrip()})
    pair = prepare_pair("sub01", source, target, None, None, spec)
    array, mask, single_affine, scale = prepare_single("sub01", target, None, spec, role="target")
    assert np.array_equal(array, pair.target) and np.array_equal(mask, pair.target_mask)
    assert np.allclose(single_affine, affine) and scale == pair.target_scale


def test_cross_contrast_with_provided_masks(tmp_path, phantoms, fast_spec):
    motion = phantoms.motion(**MOTION)
    t1, t1_brain, affine = phantoms.image("t1", motion=motion)
    t2, t2_brain, _ = phantoms.image("t2")
    paths = [phantoms.save(tmp_path / name, array, affine) for name, array in
             [("t1.nii.gz", t1), ("t2.nii.gz", t2), ("t1_mask.nii.gz", t1_brain.astype(np.uint8)),
              ("t2_mask.nii.gz", t2_brain.astype(np.uint8))]]
    spec = fast_spec.model_copy(update={"skull_strip": ProvidedMasks()})
    pair = prepare_pair("sub02", *paths, spec)
    assert np.array_equal(pair.target_mask, t2_brain)
    assert mask_dice(pair.source_mask, t2_brain) > 0.95 > 0.8 > pair.info["dice_before"]


def test_fov_mismatch_is_data_error(tmp_path, phantoms, fast_spec):
    # The source holds only an 8 mm slab of the head: no registration can make it match the whole brain.
    slab_affine = phantoms.affine((40, 40, 4))
    source, _, _ = phantoms.image("t1", shape=(40, 40, 4), affine=slab_affine, skull=False)
    target, _, affine = phantoms.image("t2", skull=False)
    source_path = phantoms.save(tmp_path / "slab_T1w.nii.gz", source, slab_affine)
    target_path = phantoms.save(tmp_path / "full_T2w.nii.gz", target, affine)
    with pytest.raises(DataError, match=r"subject sub03: .*slab_T1w.nii.gz: fields of view .*full_T2w.nii.gz"):
        prepare_pair("sub03", source_path, target_path, None, None, fast_spec)


def test_empty_mask_after_skull_strip_is_data_error(tmp_path, phantoms, fast_spec):
    image, _, affine = phantoms.image("t1", skull=False)
    negative = phantoms.save(tmp_path / "negative_T1w.nii.gz", -1.0 - image, affine)
    target = phantoms.save(tmp_path / "ok_T2w.nii.gz", image, affine)
    with pytest.raises(DataError, match=r"subject sub04: .*negative_T1w.nii.gz: brain mask is empty"):
        prepare_pair("sub04", negative, target, None, None, fast_spec)


def test_missing_target_is_data_error(skull_pair, fast_spec, tmp_path):
    (source, _), _, _, _ = skull_pair
    with pytest.raises(DataError, match=r"subject sub05: .*no_such_T2w.nii.gz: file not found"):
        prepare_pair("sub05", source, tmp_path / "no_such_T2w.nii.gz", None, None, fast_spec)


def test_mask_on_other_grid_is_data_error(tmp_path, phantoms, fast_spec):
    image, brain, affine = phantoms.image("t1", skull=False)
    path = phantoms.save(tmp_path / "img.nii.gz", image, affine)
    wrong = phantoms.save(tmp_path / "wrong_mask.nii.gz", brain[:, :, :-2].astype(np.uint8), affine)
    spec = fast_spec.model_copy(update={"skull_strip": ProvidedMasks()})
    with pytest.raises(DataError, match=r"subject sub06: .*wrong_mask.nii.gz: mask grid"):
        prepare_single("sub06", path, wrong, spec)
