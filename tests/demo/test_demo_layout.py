"""The demo tree: BIDS-like layout, valid NIfTI on one grid per session, ground truth, determinism, input errors."""

from __future__ import annotations

import json
from collections import Counter

import nibabel as nib
import numpy as np
import pytest

from mrsynth.demo import DEFAULT_SHAPE, DEFAULT_SUBJECTS, generate_demo
from mrsynth.demo.generate import plan_subjects
from mrsynth.errors import DataError

SESSIONS = ("3T", "7T")
CONTRASTS = ("T1w", "T2w", "PDw")


def test_defaults_match_the_brief():
    assert DEFAULT_SUBJECTS == 8
    assert len(DEFAULT_SHAPE) == 3 and all(32 <= n <= 128 for n in DEFAULT_SHAPE)


def test_every_subject_has_both_sessions_three_contrasts_mask_and_labels(demo):
    subjects = [f"sub-{i:02d}" for i in range(1, demo.subjects + 1)]
    assert demo.truth["subjects"] == subjects
    for subject in subjects:
        for session in SESSIONS:
            affines = []
            for contrast in CONTRASTS:
                image = demo.nifti(subject, session, contrast)
                assert image.shape == demo.shape
                assert image.get_data_dtype() == np.int16
                assert image.get_fdata().max() > 0
                sidecar = json.loads(
                    (
                        demo.root
                        / subject
                        / f"ses-{session}"
                        / "anat"
                        / f"{subject}_ses-{session}_{contrast}.json"
                    ).read_text()
                )
                assert sidecar["MagneticFieldStrength"] == float(session[:-1])
                affines.append(image.affine)
            mask_path = (
                demo.root
                / "derivatives/masks"
                / subject
                / f"ses-{session}/anat/{subject}_ses-{session}_desc-brain_mask.nii.gz"
            )
            mask = nib.load(mask_path)
            assert mask.get_data_dtype() == np.uint8
            assert set(np.unique(np.asarray(mask.dataobj))) == {0, 1}
            affines.append(mask.affine)
            for affine in affines:
                np.testing.assert_allclose(affine, affines[0])
            np.testing.assert_allclose(affines[0], demo.nifti(subject, "7T", "T1w").affine)


def test_affine_is_ras_with_the_recorded_isotropic_voxel_size(demo):
    affine = demo.nifti("sub-01", "7T", "T1w").affine
    voxel = demo.truth["voxel_size_mm"]
    np.testing.assert_allclose(np.diag(affine)[:3], voxel)
    assert nib.aff2axcodes(affine) == ("R", "A", "S")
    assert voxel[0] * demo.shape[0] >= 200.0  # the field of view holds a whole head


def test_dataset_description_is_minimal_bids(demo):
    description = json.loads((demo.root / "dataset_description.json").read_text())
    assert {"Name", "BIDSVersion"} <= description.keys()
    derived = json.loads((demo.root / "derivatives/masks/dataset_description.json").read_text())
    assert derived["DatasetType"] == "derivative"


def test_ground_truth_records_generation_and_acquisition_parameters(demo):
    truth = demo.truth
    assert truth["seed"] == demo.seed and truth["shape"] == list(demo.shape)
    assert truth["generator"]["version"]
    for field in SESSIONS:
        for contrast in ("T1w", "T2w", "PDw"):
            seq = truth["sequences"][field][contrast]
            assert {"kind", "TR_ms", "TE_ms"} <= seq.keys()
            assert ("TI_ms" in seq) == (seq["kind"] == "inversion_recovery")
    assert truth["sequences"]["7T"]["T1w"]["kind"] == "inversion_recovery"
    for tissue in ("csf", "gm", "wm"):
        params = truth["tissues"][tissue]
        assert params["7T"]["T1_ms"] > params["3T"]["T1_ms"]  # T1 lengthens with field
        assert params["7T"]["T2_ms"] < params["3T"]["T2_ms"]  # T2 shortens
    for subject in truth["subjects"]:
        matrix = np.asarray(truth["per_subject"][subject]["misregistration"]["T_3T_to_7T"])
        assert matrix.shape == (4, 4)
        np.testing.assert_allclose(matrix[:3, :3] @ matrix[:3, :3].T, np.eye(3), atol=1e-5)  # rigid
    assert "T_3T_to_7T @ x" in truth["transform_convention"]


def test_defects_spare_the_reference_subjects_and_cover_every_kind(demo):
    defects = demo.truth["defects"]
    assert all(len(defects[group]) == 1 for group in defects)
    hit = [d["subject"] for group in defects.values() for d in group]
    assert len(hit) == len(set(hit))
    assert not {"sub-01", "sub-02"} & set(hit)
    assert demo.truth["clean_subjects"][:2] == ["sub-01", "sub-02"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eight_subjects_get_two_offsets_two_misalignments_one_motion_one_bad_mask(seed):
    plans = plan_subjects(8, seed)
    kinds = Counter(p.defect_kind for p in plans)
    assert kinds == {"slice_offset": 2, "local_misalignment": 2, "motion": 1, "bad_mask": 1, None: 2}
    assert plans[0].defect_kind is None and plans[1].defect_kind is None


def _arrays(root):
    return {p.relative_to(root): np.asarray(nib.load(p).dataobj) for p in sorted(root.rglob("*.nii.gz"))}


def test_same_seed_gives_identical_files_and_another_seed_different_arrays(tmp_path):
    shape = (24, 24, 18)
    first = generate_demo(tmp_path / "a", subjects=1, seed=5, shape=shape).parent
    again = generate_demo(tmp_path / "b", subjects=1, seed=5, shape=shape).parent
    other = generate_demo(tmp_path / "c", subjects=1, seed=6, shape=shape).parent
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    a, c = _arrays(first), _arrays(other)
    assert a.keys() == c.keys()
    for name in a:
        assert not np.array_equal(a[name], c[name]), name


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"subjects": 0}, "--subjects"),
        ({"shape": (8, 32, 32)}, "--shape"),
        ({"shape": (32, 32)}, "--shape"),
        ({"shape": (32, 32, 1000)}, "--shape"),
        ({"seed": -1}, "--seed"),
    ],
)
def test_bad_arguments_raise_data_error(tmp_path, kwargs, fragment):
    with pytest.raises(DataError, match=fragment):
        generate_demo(tmp_path / "out", **kwargs)


def test_output_path_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("not a folder")
    with pytest.raises(DataError, match="not a folder"):
        generate_demo(target, subjects=1)


@pytest.mark.parametrize("subjects", [1, 2, 3, 5, 6, 8, 13, 24])
def test_defect_plan_never_touches_reference_subjects_and_scales_with_size(subjects):
    plans = plan_subjects(subjects, seed=11)
    assert [p.subject for p in plans] == [f"sub-{i:02d}" for i in range(1, subjects + 1)]
    assert all(p.defect_kind is None for p in plans[:2])
    kinds = Counter(p.defect_kind for p in plans[2:] if p.defect_kind)
    if subjects >= 6:
        assert set(kinds) == {"slice_offset", "local_misalignment", "motion", "bad_mask"}
    assert kinds["slice_offset"] <= max(1, round(subjects / 4))
    assert sum(kinds.values()) <= max(subjects - 2, 0)


def test_regenerating_replaces_a_larger_earlier_demo(tmp_path, capsys):
    out = tmp_path / "demo"
    generate_demo(out, subjects=2, seed=1, shape=(16, 16, 16))
    truth = json.loads(generate_demo(out, subjects=1, seed=1, shape=(16, 16, 16), progress=True).read_text())
    assert truth["subjects"] == ["sub-01"]
    assert sorted(p.name for p in out.glob("sub-*")) == ["sub-01"]
    assert sorted(p.name for p in (out / "derivatives/masks").glob("sub-*")) == ["sub-01"]
    assert "demo subjects" in capsys.readouterr().err  # the progress bar


def test_a_non_empty_folder_that_is_not_a_demo_is_left_alone(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="not empty"):
        generate_demo(tmp_path, subjects=1, shape=(16, 16, 16))
    assert (tmp_path / "notes.txt").read_text() == "mine"
