from __future__ import annotations

import pytest

from mrsynth.data.manifest import manifest_table, manifest_volumes, read_entity_rows
from mrsynth.errors import DataError
from mrsynth.spec.data import ManifestDataset
from mrsynth.spec.motion import MotionManifestDataset
from mrsynth_testing import touch

READERS = [(manifest_table, ManifestDataset, ["subject", "source", "target"]),
           (manifest_volumes, MotionManifestDataset, ["subject", "path"])]


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


@pytest.mark.parametrize(("reader", "spec", "columns"), READERS)
def test_a_wrong_header_is_not_echoed(tmp_path, reader, spec, columns):
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$FAKE-SECRET-7f3a:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")
    with pytest.raises(DataError) as info:
        reader(spec(csv=str(secret)), secret)
    message = str(info.value)
    assert "FAKE-SECRET" not in message and "daemon" not in message and "19000" not in message
    assert str(secret) in message and f"must name the columns {columns}" in message


@pytest.mark.parametrize(("reader", "spec", "columns"), READERS)
def test_a_binary_file_is_an_error_not_a_traceback(tmp_path, reader, spec, columns):
    blob = tmp_path / "blob.csv"
    blob.write_bytes(b"\xff\xfeFAKE-SECRET\x00\n")
    with pytest.raises(DataError, match="not a UTF-8 CSV file") as info:
        reader(spec(csv=str(blob)), blob)
    assert "FAKE-SECRET" not in str(info.value) and "blob.csv" in str(info.value)


def test_motion_volumes_drop_bids_prefixes_and_name_a_missing_file(tmp_path):
    touch(tmp_path / "a.nii.gz")
    csv = tmp_path / "v.csv"
    csv.write_text("subject,session,suffix,path\nsub-01,ses-3T,T1w,a.nii.gz\n02,,,gone.nii.gz\n")
    assert [row for _, row in read_entity_rows(csv, ("subject",))][0] == {
        "subject": "01", "session": "3T", "suffix": "T1w", "path": "a.nii.gz"}
    with pytest.raises(DataError, match="line 3: no such volume 'gone.nii.gz'") as info:
        manifest_volumes(MotionManifestDataset(csv="v.csv"), csv)
    assert "v.csv" in str(info.value)
