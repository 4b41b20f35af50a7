"""The cache reuse rules on real (ANTs) preprocessing of the tiny demo, counted by builds."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mrsynth.cache import CacheStore
from mrsynth.data.prepare import prepare_data
from mrsynth.data.row_stack import RowStack
from mrsynth.errors import DataError
from mrsynth.spec.load import load_spec
from mrsynth_testing import tiny_spec_data


def stages(built):
    return sorted(stage for stage, _ in built)


@pytest.fixture
def store(tmp_path):
    return CacheStore(tmp_path / "cache")


def prepare(write_spec, root, store, name="tiny", **sections):
    return prepare_data(load_spec(write_spec(name, tiny_spec_data(root, name, **sections))), store, workers=1, progress=False)


def test_stage_reuse_rules(write_spec, tiny_demo, store):
    cold = prepare(write_spec, tiny_demo, store)
    assert stages(cold.built) == ["preprocess"] * 4 + ["slices"] * 4  # one slices entry per subject
    assert cold.store is store  # carried, not rebuilt from where the slices entry happens to sit
    counts = cold.slices.facts["counts"]
    assert counts["train"] > 0 and counts["val"] > 0 and counts["test"] > 0

    # thresholds, masking, model, loss, train: nothing rebuilt
    warm = prepare(write_spec, tiny_demo, store, data={"qc": {"min_ncc": 0.3, "min_dice": 0.5}},
                   masking={"kind": "none"}, loss={"l1": 5.0}, train={"epochs": 3})
    assert warm.built == [] and warm.slices.key == cold.slices.key

    # the split: subjects move between splits, nothing is rebuilt
    train = cold.slices.subjects("train")
    moved_split = {"val_subjects": [train[0]], "test_subjects": [train[1]]}
    moved = prepare(write_spec, tiny_demo, store, data={"split": moved_split})
    assert moved.built == [] and moved.slices.subjects("val") == [train[0]] and moved.slices.key != cold.slices.key
    assert moved.slices.keys() == cold.slices.keys()

    # slicing: slices rebuilt, preprocessing reused
    resliced = prepare(write_spec, tiny_demo, store, data={"slicing": {"min_brain_fraction": 0.2}})
    assert stages(resliced.built) == ["slices"] * 4
    assert resliced.preprocess_keys == cold.preprocess_keys
    # QC metric parameters are part of the slice stage
    assert stages(prepare(write_spec, tiny_demo, store, data={"qc": {"max_offset": 3}}).built) == ["slices"] * 4

    # preprocessing settings: everything from preprocessing on
    redone = prepare(write_spec, tiny_demo, store, data={"preprocess": {"n4": {"enabled": False}}})
    assert stages(redone.built) == ["preprocess"] * 4 + ["slices"] * 4


def test_slices_are_read_on_demand_and_normalised(write_spec, tiny_demo, store):
    data = prepare(write_spec, tiny_demo, store)
    source, target, masks = data.slices.arrays("train")
    assert isinstance(source, RowStack) and source.shape[1:] == (40, 40) and masks.shape[1] == 3
    source, target = np.asarray(source), target[:]
    assert source.min() >= -1 and source.max() <= 1 and target.max() <= 1
    table = data.slices.table()
    assert set(table["split"]) == {"train", "val", "test"}
    assert table.groupby("subject")["split"].nunique().max() == 1  # no subject in two splits
    assert (table["brain_fraction"] >= 0.1).all()


def test_editing_an_input_file_rebuilds_that_subject_only(write_spec, tiny_demo, tmp_path, store):
    root = tmp_path / "copy"
    shutil.copytree(tiny_demo, root)
    prepare(write_spec, root, store)
    victim = next(root.glob("sub-02/ses-7T/anat/*_T1w.nii.gz"))
    import nibabel as nib

    image = nib.load(victim)
    nib.save(nib.Nifti1Image(np.asarray(image.dataobj, dtype=np.float32) * 1.01, image.affine), victim)
    again = prepare(write_spec, root, store)
    assert stages(again.built) == ["preprocess", "slices"]


def test_adding_a_subject_builds_its_preprocessing_and_slices_only(write_spec, tiny_demo, tmp_path, store):
    root = tmp_path / "growing"
    shutil.copytree(tiny_demo, root)
    held = {folder: tmp_path / "held" / folder.relative_to(root) for folder in list(root.rglob("sub-04"))}
    for folder, aside in held.items():  # images and masks of subject 04 out of the dataset
        aside.parent.mkdir(parents=True, exist_ok=True)
        folder.rename(aside)
    before = prepare(write_spec, root, store)
    for folder, aside in held.items():
        aside.rename(folder)
    after = prepare(write_spec, root, store)
    assert stages(after.built) == ["preprocess", "slices"]
    assert len([e for e in store.entries() if e.stage == "slices"]) == 4  # the others' entries serve both datasets
    assert {s: k for s, k in after.slices.keys().items() if s != "04"} == before.slices.keys()


def test_bad_subject_errors_or_is_skipped(write_spec, tiny_demo, tmp_path, store):
    root = tmp_path / "broken"
    shutil.copytree(tiny_demo, root)
    bad = next(root.glob("sub-03/ses-3T/anat/*_T1w.nii.gz"))
    bad.write_bytes(bad.read_bytes()[:200])  # truncated gzip
    with pytest.raises(DataError) as info:
        prepare(write_spec, root, store)
    assert "03" in str(info.value) and bad.name in str(info.value)
    assert not [e for e in store.entries() if e.manifest["meta"].get("subject") == "03"]
    # with skip, but only 3 subjects remain: still enough for a split
    data = prepare(write_spec, root, store, data={"on_bad_subject": "skip"})
    assert list(data.skipped) == ["03"] and "03" not in data.preprocess_keys


def test_every_header_is_checked_before_any_subject_is_preprocessed(write_spec, tiny_demo, tmp_path, store):
    """A 4D file used to fail after the other subjects' minutes of preprocessing; now nothing is built first."""
    import nibabel as nib

    root = tmp_path / "four_d"
    shutil.copytree(tiny_demo, root)
    bad = next(root.glob("sub-04/ses-7T/anat/*_T1w.nii.gz"))
    image = nib.load(bad)
    voxels = np.asarray(image.dataobj, dtype=np.float32)
    nib.save(nib.Nifti1Image(np.stack([voxels, voxels], axis=-1), image.affine), bad)
    with pytest.raises(DataError) as info:
        prepare(write_spec, root, store)
    assert "subject 04" in str(info.value) and bad.name in str(info.value) and "3D volume" in str(info.value)
    assert store.entries() == [] and store.builds == []
