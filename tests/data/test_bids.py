from __future__ import annotations

from pathlib import Path

import pytest

from mrsynth.data.layouts import subject_table, volume_table
from mrsynth.errors import DataError
from mrsynth.spec.data import BidsDataset, BidsEntities
from mrsynth.spec.motion import MotionBidsDataset
from mrsynth_testing import touch


def bids_tree(root: Path, subjects=("01", "02"), missing_target=()):
    for s in subjects:
        touch(root / f"sub-{s}/ses-3T/anat/sub-{s}_ses-3T_T1w.nii.gz")
        touch(root / f"derivatives/masks/sub-{s}/ses-3T/anat/sub-{s}_ses-3T_desc-brain_mask.nii.gz")
        if s not in missing_target:
            touch(root / f"sub-{s}/ses-7T/anat/sub-{s}_ses-7T_T1w.nii.gz")
    return root


def test_bids_pairs_files_and_masks(tmp_path):
    bids_tree(tmp_path / "ds")
    table = subject_table(BidsDataset(root="ds"), tmp_path)
    assert [s.subject for s in table.subjects] == ["01", "02"] and table.problems == ()
    first = table.subjects[0]
    assert first.source.name == "sub-01_ses-3T_T1w.nii.gz" and first.target.name == "sub-01_ses-7T_T1w.nii.gz"
    assert first.source_mask.name == "sub-01_ses-3T_desc-brain_mask.nii.gz" and first.target_mask is None


def test_bids_subject_without_pair_is_reported_with_path(tmp_path):
    bids_tree(tmp_path / "ds", missing_target=("02",))
    table = subject_table(BidsDataset(root="ds"), tmp_path)
    assert [s.subject for s in table.subjects] == ["01"]
    ((subject, reason),) = table.problems
    assert subject == "02" and "no target image" in reason and "sub-02_ses-7T_T1w.nii" in reason


def test_bids_entity_filters(tmp_path):
    root = bids_tree(tmp_path / "ds")
    touch(root / "sub-01/ses-3T/anat/sub-01_ses-3T_T2w.nii.gz")
    dataset = BidsDataset(root="ds", target=BidsEntities(session="3T", suffix="T2w"), subjects=["01"])
    (only,) = subject_table(dataset, tmp_path).subjects
    assert only.target.name == "sub-01_ses-3T_T2w.nii.gz"


def test_bids_missing_root_and_unknown_subject(tmp_path):
    with pytest.raises(DataError, match="dataset root not found"):
        subject_table(BidsDataset(root="nowhere"), tmp_path)
    bids_tree(tmp_path / "ds")
    with pytest.raises(DataError, match=r"\['09'\]"):
        subject_table(BidsDataset(root="ds", subjects=["01", "09"]), tmp_path)


def test_bids_volumes_are_the_images_that_exist(tmp_path):
    bids_tree(tmp_path / "ds", missing_target=("02",))
    volumes = volume_table(MotionBidsDataset(root="ds"), tmp_path)
    assert [v.id for v in volumes] == ["sub-01_ses-3T_T1w", "sub-01_ses-7T_T1w", "sub-02_ses-3T_T1w"]
    with pytest.raises(DataError, match="dataset root not found"):
        volume_table(MotionBidsDataset(root="nowhere"), tmp_path)
