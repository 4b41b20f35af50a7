from __future__ import annotations

from typing import get_args

import pytest

from mrsynth.data.layouts import DATASET_READERS, subject_table, volume_table
from mrsynth.errors import DataError
from mrsynth.spec.data import Dataset, ManifestDataset
from mrsynth.spec.motion import MotionDataset, MotionManifestDataset
from mrsynth_testing import touch


def union_kinds(union) -> set[str]:
    """The `kind` values of a discriminated union of spec models."""
    members = get_args(get_args(union)[0])
    return {kind for model in members for kind in get_args(model.model_fields["kind"].annotation)}


@pytest.mark.parametrize("union", [Dataset, MotionDataset], ids=["translation", "motion_qc"])
def test_every_dataset_kind_has_a_reader(union):
    kinds = union_kinds(union)
    assert kinds and kinds <= DATASET_READERS.keys()


def test_one_manifest_reads_the_same_through_both_experiment_kinds(tmp_path):
    for name in ("a", "b"):
        touch(tmp_path / f"vols/{name}_src.nii.gz")
        touch(tmp_path / f"vols/{name}_tgt.nii.gz")
    touch(tmp_path / "lists/m.csv").write_text(
        "subject,source,target,path\n"
        "a,../vols/a_src.nii.gz,../vols/a_tgt.nii.gz,../vols/a_src.nii.gz\n"
        " b , ../vols/b_src.nii.gz ,../vols/b_tgt.nii.gz, ../vols/b_src.nii.gz \n")
    pairs = subject_table(ManifestDataset(csv="lists/m.csv"), tmp_path).subjects
    volumes = volume_table(MotionManifestDataset(csv="lists/m.csv"), tmp_path)
    assert [(p.subject, p.source) for p in pairs] == [(v.subject, v.path) for v in volumes]
    assert [v.path for v in volumes] == [tmp_path.resolve() / f"lists/../vols/{n}_src.nii.gz" for n in "ab"]


def test_an_empty_motion_manifest_names_the_spec_field(tmp_path):
    touch(tmp_path / "m.csv").write_text("subject,path\n")
    with pytest.raises(DataError, match="no volumes found") as info:
        volume_table(MotionManifestDataset(csv="m.csv"), tmp_path)
    assert str(info.value).startswith("m.csv: ")
