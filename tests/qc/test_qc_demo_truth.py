"""QC flags on the demo dataset (default size) scored against its ground_truth.json.

Pipeline as a user runs it: experiments/3t7t-qc.json (3T T1w -> 7T T1w, provided masks, rigid
registration) pointed at a freshly generated demo, `prepare_data`, then `apply_qc` with the spec's
thresholds. Requirement: recall >= 0.9 and precision >= 0.8 over the injected slice offsets and
local misalignments.

Scoring, precisely:
- Registration resamples the 3T source into the 7T grid, so ground-truth indices (7T voxel index
  along axis 2) are the slices table's `slice` values.
- Positive: start <= slice < stop of a `slice_offsets` or `local_misalignments` entry. Every slice
  in such a range is wholly wrong (the whole 7T slice is replaced or shifted), so there is no
  partial credit and no tolerance band: a flagged clean neighbour of a range is a false positive,
  an unflagged first or last slice of a range a false negative.
- Recall is over every ground-truth slice, listed or not (a slice dropped by the brain-fraction
  rule counts as missed); precision is over the flagged listed slices.
- Subjects with a motion or bad-mask defect are left out of both: every slice of them is really
  corrupted (wrong mask, k-space motion), so a flag there is no false alarm, but neither is it a
  slice-offset hit. Those defects are checked separately for being visible in the metrics.

experiments/3t7t-qc.json sets two QC values for this, both because the demo's slices are 3.5 mm
thick and 64x64: `bins` 16, since 400-1300 brain voxels per slice cannot fill a 32x32 joint histogram and
the plug-in MI bias then favours the outermost neighbour at both ends of every brain; and
`max_abs_offset` 0, since one 3.5 mm slice is already a real misalignment.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mrsynth.cache import CacheStore
from mrsynth.data.prepare import prepare_data
from mrsynth.qc.filter import apply_qc
from mrsynth.spec.load import load_spec

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "experiments" / "3t7t-qc.json"
SLICE_DEFECTS = ("slice_offsets", "local_misalignments")
SOURCE_TARGET = {("ses-3T", "T1w"), ("ses-7T", "T1w")}  # the images 3t7t-qc.json pairs

pytestmark = pytest.mark.slow  # default demo plus preprocessing of 8 subjects: about a minute on 2 cores


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> tuple[pd.DataFrame, dict]:
    """(QC table after apply_qc, ground truth) of the default demo through the 3t7t-qc spec."""
    from mrsynth.demo import generate_demo

    root = tmp_path_factory.mktemp("default-demo") / "demo"
    truth = json.loads(generate_demo(root).read_text())
    loaded = load_spec(SPEC, (f"data.dataset.root={root}",))
    # a session fixture cannot use the per-test cache folder, so it brings its own store
    prepared = prepare_data(loaded, CacheStore(tmp_path_factory.mktemp("cache")), progress=False)
    table = apply_qc(prepared.slices.table(), loaded.experiment.data.qc)
    table["subject"] = "sub-" + table["subject"].astype(str)
    return table, truth


def defect_slices(truth: dict) -> set[tuple[str, int]]:
    return {(d["subject"], z) for group in SLICE_DEFECTS for d in truth["defects"][group] for z in range(d["start"], d["stop"])}


def other_defect_subjects(truth: dict) -> set[str]:
    return {d["subject"] for group in ("motion_corrupted", "bad_masks") for d in truth["defects"][group]}


def test_flags_find_injected_offsets_and_misalignments(demo_run):
    table, truth = demo_run
    positives = defect_slices(truth)
    assert len(positives) >= 8  # the default demo injects two runs of each kind
    scored = table[~table["subject"].isin(other_defect_subjects(truth))]
    flagged = set(zip(scored.loc[scored["flagged"], "subject"], scored.loc[scored["flagged"], "slice"], strict=True))
    hits = len(flagged & positives)
    recall, precision = hits / len(positives), hits / max(len(flagged), 1)
    assert recall >= 0.9, f"missed {sorted(positives - flagged)}"
    assert precision >= 0.8, f"false alarms {sorted(flagged - positives)}"


def test_clean_subjects_keep_almost_every_slice(demo_run):
    table, truth = demo_run
    clean = table[table["subject"].isin(truth["clean_subjects"])]
    assert len(clean) > 40
    assert clean["flagged"].mean() <= 0.05


def test_bad_skull_strip_has_the_lowest_mask_agreement(demo_run):
    table, truth = demo_run
    bad = {d["subject"] for d in truth["defects"]["bad_masks"]}
    if not bad:
        pytest.skip("this demo has no bad-mask subject")
    median_dice = table.groupby("subject")["dice"].median()
    assert median_dice[list(bad)].max() < median_dice.drop(list(bad)).min()


def test_motion_lowers_agreement_when_it_hits_a_paired_image(demo_run):
    table, truth = demo_run
    moved = {d["subject"] for d in truth["defects"]["motion_corrupted"] if (d["session"], d["contrast"]) in SOURCE_TARGET}
    if not moved:
        pytest.skip("motion was injected into an image 3t7t-qc.json does not use")
    medians = table.groupby("subject")[["ncc", "edge_corr", "mi"]].median()
    clean = medians.loc[truth["clean_subjects"]]
    for column in ("ncc", "edge_corr", "mi"):
        assert medians.loc[list(moved), column].max() < clean[column].min(), column
    assert np.isfinite(medians.to_numpy()).all()
