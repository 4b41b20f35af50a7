"""Skull-strip methods: threshold and ANTs masks find the brain inside a skull shell; provided masks are used as given."""

from __future__ import annotations

import numpy as np
import pytest

from mrsynth.errors import DataError
from mrsynth.preprocess.register import mask_dice
from mrsynth.preprocess.skullstrip import brain_mask
from mrsynth.preprocess.volumes import load_volume
from mrsynth.spec.preprocess import AntsMask, NoSkullStrip, ProvidedMasks, ThresholdSkullStrip


@pytest.fixture
def skull_head(tmp_path, phantoms):
    image, brain, affine = phantoms.image("t1", skull=True)
    path = phantoms.save(tmp_path / "sub01_T1w.nii.gz", image, affine)
    index = np.stack(np.meshgrid(*[np.arange(n) for n in image.shape], indexing="ij"), axis=-1)
    scalp = phantoms.labels(index @ affine[:3, :3].T + affine[:3, 3])["scalp"]
    return load_volume("sub01", path), brain, scalp


@pytest.mark.parametrize("contrast", ["t1", "t2"])
def test_threshold_removes_skull_shell(tmp_path, phantoms, contrast):
    image, _, affine = phantoms.image(contrast, skull=True)
    volume = load_volume("sub01", phantoms.save(tmp_path / "head.nii.gz", image, affine))
    labels = phantoms.labels(_world(image.shape, affine))
    mask = brain_mask("sub01", volume, ThresholdSkullStrip(), None)
    # Bright T2 CSF belongs to the foreground, so the T2 mask is the intracranial volume.
    expected = labels["brain"] | labels["csf"] if contrast == "t2" else labels["brain"]
    assert mask_dice(mask, expected) >= 0.9
    assert (mask & labels["scalp"]).sum() < 0.02 * labels["scalp"].sum()


def test_ants_mask_finds_brain(skull_head):
    volume, brain, scalp = skull_head
    mask = brain_mask("sub01", volume, AntsMask(), None)
    assert mask_dice(mask, brain) >= 0.85
    assert (mask & scalp).sum() < 0.05 * scalp.sum()


def test_provided_mask_is_used_as_given(tmp_path, phantoms, skull_head):
    volume, brain, _ = skull_head
    # A deliberately odd mask (a box) proves the method returns the file's mask, not a computed one.
    box = np.zeros_like(brain)
    box[10:20, 12:30, 8:20] = True
    mask_path = phantoms.save(tmp_path / "sub01_mask.nii.gz", box.astype(np.uint8), volume.affine)
    mask = brain_mask("sub01", volume, ProvidedMasks(), mask_path)
    assert np.array_equal(mask, box)


def test_provided_without_file_is_data_error(skull_head):
    volume, _, _ = skull_head
    with pytest.raises(DataError, match=r"subject sub01: .*sub01_T1w.nii.gz: .*needs a mask file"):
        brain_mask("sub01", volume, ProvidedMasks(), None)


def test_empty_provided_mask_is_data_error(tmp_path, phantoms, skull_head):
    volume, brain, _ = skull_head
    empty = phantoms.save(tmp_path / "empty_mask.nii.gz", np.zeros(brain.shape, np.uint8), volume.affine)
    with pytest.raises(DataError, match=r"subject sub01: .*empty_mask.nii.gz: brain mask is empty"):
        brain_mask("sub01", volume, ProvidedMasks(), empty)


def test_none_keeps_positive_voxels(tmp_path, phantoms):
    image, brain, affine = phantoms.image("t2", skull=False)
    volume = load_volume("sub01", phantoms.save(tmp_path / "stripped.nii.gz", image, affine))
    assert np.array_equal(brain_mask("sub01", volume, NoSkullStrip(), None), image > 0)


def _world(shape, affine):
    index = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    return index @ affine[:3, :3].T + affine[:3, 3]
