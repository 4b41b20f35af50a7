from __future__ import annotations

import csv

import pytest

from mrsynth.cli import main
from mrsynth.errors import DataError
from mrsynth.motion.labels import demo_labels


def test_labels_follow_the_ground_truth(motion_demo):
    root, moved = motion_demo
    rows = demo_labels(root)
    assert len(rows) == 5 * 2 * 3  # subjects x sessions x contrasts
    motion = [r for r in rows if r["label"] == "motion"]
    assert motion == [{"subject": moved["subject"].removeprefix("sub-"), "session": moved["session"].removeprefix("ses-"),
                       "suffix": moved["contrast"], "label": "motion"}]
    assert {r["label"] for r in rows if r["subject"] in ("01", "02")} == {"clean"}  # sub-01/02 never carry a defect


def test_command_writes_the_csv_beside_the_demo(motion_demo, capsys):
    root, _ = motion_demo
    assert main(["motion-labels", "--demo", str(root)]) == 0
    path = root / "derivatives" / "qc" / "motion_labels.csv"
    assert f"wrote {path}" in capsys.readouterr().out
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0].keys() == {"subject", "session", "suffix", "label"} and len(rows) == 30


def test_a_folder_without_ground_truth_is_a_clean_error(tmp_path, capsys):
    with pytest.raises(DataError, match="ground_truth.json"):
        demo_labels(tmp_path)
    assert main(["motion-labels", "--demo", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("mrsynth: ")
