from __future__ import annotations

from pathlib import Path

import pytest

from mrsynth.data.ingest import manifest_table, subject_table
from mrsynth.errors import DataError
from mrsynth.spec.data import BidsDataset, BidsEntities, ManifestDataset


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


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


def test_manifest_paths_are_relative_to_the_csv(tmp_path):
    touch(tmp_path / "vols/a_src.nii.gz")
    touch(tmp_path / "vols/a_tgt.nii.gz")
    touch(tmp_path / "vols/a_mask.nii.gz")
    (tmp_path / "lists").mkdir()
    csv = tmp_path / "lists/m.csv"
    csv.write_text("subject,source,target,source_mask\na,../vols/a_src.nii.gz,../vols/a_tgt.nii.gz,../vols/a_mask.nii.gz\n"
                   "b,../vols/b_src.nii.gz,../vols/a_tgt.nii.gz,\n")
    table = manifest_table(ManifestDataset(csv="lists/m.csv"), csv)
    (row,) = table.subjects
    assert row.source == tmp_path / "lists/../vols/a_src.nii.gz" and row.source_mask is not None and row.target_mask is None
    ((subject, reason),) = table.problems
    assert subject == "b" and "b_src.nii.gz" in reason


@pytest.mark.parametrize(("text", "message"), [
    ("subject,source\na,x\n", "lacks column"),
    ("subject,source,target\na,x,y\na,x,y\n", "duplicate subject 'a'"),
])
def test_manifest_errors_name_the_csv(tmp_path, text, message):
    csv = tmp_path / "m.csv"
    csv.write_text(text)
    with pytest.raises(DataError, match=message) as info:
        manifest_table(ManifestDataset(csv="m.csv"), csv)
    assert "m.csv" in str(info.value)
