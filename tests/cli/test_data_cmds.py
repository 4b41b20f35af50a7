"""The data commands on the tiny demo: preprocess, qc, qc-pair, cache ls/du/gc, demo-data."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import nibabel as nib
import numpy as np

from mrsynth.cli import main
from mrsynth_testing import tiny_spec_data

QC_COLUMNS = ["slice", "dice", "ncc", "mi", "edge_corr", "best_offset", "mi_delta", "brain_fraction", "flagged", "reasons"]


def test_preprocess_then_warm_rerun_builds_nothing(tiny_demo, write_spec, capsys):
    path = write_spec("tiny", tiny_spec_data(tiny_demo))
    assert main(["preprocess", str(path), "--workers", "2"]) == 0
    cold = capsys.readouterr().out
    assert "4 subjects" in cold and cold.count("preprocess ") == 4 and "slices " in cold
    assert main(["preprocess", str(path), "--set", "data.qc.min_mi=0.2"]) == 0
    assert "built: nothing (all cached)" in capsys.readouterr().out


def test_qc_report_folder(tiny_demo, write_spec, tmp_path, capsys):
    path = write_spec("tiny", tiny_spec_data(tiny_demo))
    out = tmp_path / "report"
    assert main(["qc", str(path), "--out", str(out), "--set", "data.qc.min_dice=0.99"]) == 0
    printed = capsys.readouterr().out
    assert "slice pairs flagged" in printed and (out / "index.html").is_file()
    rows = list(csv.DictReader(open(out / "qc.csv")))
    flagged = [r for r in rows if r["flagged"] == "True"]
    assert flagged and all("dice" in r["reasons"] for r in flagged)
    html = (out / "index.html").read_text()
    assert sum(1 for _ in out.rglob("*.png")) >= 1 and ".png" in html


def test_qc_pair_csv_columns_and_grid_mismatch(tiny_demo, tmp_path, capsys):
    source = next(tiny_demo.glob("sub-01/ses-3T/anat/*_T1w.nii.gz"))
    target = next(tiny_demo.glob("sub-01/ses-3T/anat/*_T2w.nii.gz"))
    out = tmp_path / "pair"
    assert main(["qc-pair", str(source), str(target), "--out", str(out), "--max-offset", "2", "--set", "data.qc.bins=16"]) == 0
    with open(out / "qc.csv") as handle:
        header = next(csv.reader(handle))
    assert header[: len(QC_COLUMNS)] == QC_COLUMNS
    image = nib.load(target)
    shifted = tmp_path / "shifted.nii.gz"
    affine = image.affine.copy()
    affine[0, 3] += 7.0
    nib.save(nib.Nifti1Image(np.asarray(image.dataobj), affine), shifted)
    capsys.readouterr()
    assert main(["qc-pair", str(source), str(shifted), "--out", str(tmp_path / "bad")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mrsynth: ") and "shifted.nii.gz" in err


def test_qc_pair_no_figures_writes_the_tables_only(tiny_demo, tmp_path):
    source = next(tiny_demo.glob("sub-01/ses-3T/anat/*_T1w.nii.gz"))
    target = next(tiny_demo.glob("sub-01/ses-3T/anat/*_T2w.nii.gz"))
    out = tmp_path / "pair"
    assert main(["qc-pair", str(source), str(target), "--out", str(out), "--no-figures", "--set", "data.qc.min_dice=0.999"]) == 0
    assert (out / "qc.csv").is_file() and (out / "summary.csv").is_file() and not (out / "figures").exists()
    assert "Figures not drawn" in (out / "index.html").read_text()


def test_qc_pair_rejects_non_qc_overrides(tiny_demo, tmp_path, capsys):
    source = next(tiny_demo.glob("sub-01/ses-3T/anat/*_T1w.nii.gz"))
    assert main(["qc-pair", str(source), str(source), "--out", str(tmp_path), "--set", "loss.l1=3"]) == 1
    assert "only takes data.qc" in capsys.readouterr().err


def test_cache_ls_du_and_gc(tiny_demo, write_spec, tmp_path, capsys):
    keep = write_spec("keep", tiny_spec_data(tiny_demo, "keep"))
    drop = write_spec("drop", tiny_spec_data(tiny_demo, "drop", data={"slicing": {"min_brain_fraction": 0.3}}))
    assert main(["preprocess", str(keep)]) == 0 and main(["preprocess", str(drop)]) == 0
    capsys.readouterr()
    assert main(["cache", "ls"]) == 0
    listing = capsys.readouterr().out.splitlines()
    # one slices entry per subject and slicing
    assert sum(line.startswith("slices") for line in listing) == 8 and sum(line.startswith("preprocess") for line in listing) == 4
    slices = sorted(line for line in listing if line.startswith("slices"))
    assert all("slicing.min_brain_fraction=" in line for line in slices)  # the one setting that tells them apart
    assert len({line.rsplit("slicing.min_brain_fraction=", 1)[1] for line in slices} | {"0.3"}) == 2
    assert not [line for line in listing if line.startswith("preprocess") and "=" in line]  # nothing to tell apart
    assert main(["cache", "du"]) == 0
    assert "total" in capsys.readouterr().out
    killed_build = Path(os.environ["MRSYNTH_CACHE"]) / "preprocess" / ".tmp-0123abcd-999999-deadbeef"
    killed_build.mkdir()  # what a build killed by SIGKILL leaves (its lock is free)
    # the kept spec with subjects moved between splits refers to the same per-subject entries
    moved = write_spec("keep", tiny_spec_data(tiny_demo, "keep", data={"split": {"val_subjects": ["01"], "test_subjects": ["02"]}}),
                       tmp_path / "moved")
    assert main(["cache", "gc", "--dry-run", str(moved)]) == 0
    assert "4 entries and 1 leftovers of killed builds would be removed" in capsys.readouterr().out
    assert killed_build.is_dir()
    assert main(["cache", "gc", str(moved)]) == 0
    assert "removed 4 entries and 1 leftovers" in capsys.readouterr().out
    assert not killed_build.exists()
    assert main(["preprocess", str(keep)]) == 0
    assert "built: nothing" in capsys.readouterr().out


def test_demo_data_cli_rejects_bad_arguments(tmp_path, capsys):
    assert main(["demo-data", "--out", str(tmp_path / "d"), "--subjects", "2"]) == 1
    assert "--subjects: must be >= 3" in capsys.readouterr().err
    assert main(["demo-data", "--out", str(tmp_path / "d"), "--shape", "8", "32", "32"]) == 1
    assert "--shape" in capsys.readouterr().err


def test_demo_data_cli_writes_the_qc_labels_of_its_ground_truth(tmp_path, capsys):
    import json

    out = tmp_path / "demo"
    assert main(["demo-data", "--out", str(out), "--subjects", "8", "--shape", "16", "16", "16"]) == 0
    assert "QC labels:" in capsys.readouterr().out
    truth = json.loads((out / "ground_truth.json").read_text())["defects"]["motion_corrupted"]
    with open(out / "derivatives" / "qc" / "motion_labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    moved = {(f"sub-{r['subject']}", f"ses-{r['session']}", r["suffix"]) for r in rows if r["label"] == "motion"}
    assert moved == {(d["subject"], d["session"], d["contrast"]) for d in truth} and len(moved) == 1
    assert len(rows) == 8 * 2 * 3  # every subject, session and contrast has a row


def test_preprocess_and_qc_take_one_subject_and_run_names_what_the_split_lacks(tiny_demo, write_spec, tmp_path, capsys):
    import shutil

    root = tmp_path / "one"
    shutil.copytree(tiny_demo, root)
    for other in [p for p in root.rglob("sub-*") if p.is_dir() and not p.name.startswith("sub-01")]:
        shutil.rmtree(other)
    spec = write_spec("one", tiny_spec_data(root, "one"))
    assert main(["preprocess", str(spec)]) == 0
    assert main(["qc", str(spec), "--out", str(tmp_path / "qc")]) == 0
    capsys.readouterr()
    assert main(["run", str(spec)]) == 1
    err = capsys.readouterr().err
    assert "a run needs at least one subject in each split; data.split gives train: 1, val: 0, test: 0" in err
    assert "at least 3 usable subjects (have 1)" in err
