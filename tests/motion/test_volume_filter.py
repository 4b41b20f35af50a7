"""The volume-level motion filter of translation specs, wired through `qc_filtered_rows` on a generated demo.

The demo's ground truth says which subject's session/contrast has k-space motion; the spec translates that
contrast 3T → 7T, so the corrupted image is a source or target volume. A stand-in model (scores looked up
from the known corrupted image) makes this test fast and exact; tests/motion/test_training_slow.py does the
same with a trained SFCN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mrsynth import registry
from mrsynth.cache import CacheStore
from mrsynth.data.prepare import prepare_data
from mrsynth.errors import DataError
from mrsynth.motion import scorer
from mrsynth.motion.bins import ScoreBins
from mrsynth.motion.volumes import read_input
from mrsynth.qc.filter import qc_summary
from mrsynth.spec.load import load_spec
from mrsynth.train.runner import qc_filtered_rows
from mrsynth_testing import tiny_spec_data

SHAPE = (16, 16, 16)
SLICE_RULES_OFF = {"enabled": True, "min_dice": None, "min_mi": None, "min_edge_corr": None, "max_abs_offset": None,
                   "min_brain_fraction": None}


class StandInModel:
    """Scores 3 mm for the corrupted image's input and 0.2 mm for any other; counts the volumes it scores."""

    def __init__(self, corrupted_input: np.ndarray):
        self.corrupted, self.calls = corrupted_input, 0
        self.shape, self.bins, self.spec_hash = SHAPE, ScoreBins(0.0, 5.0), "0" * 64

    def score(self, inputs: np.ndarray) -> np.ndarray:
        self.calls += len(inputs)
        return np.array([3.0 if np.allclose(x, self.corrupted) else 0.2 for x in inputs])


def register_motion_run(tmp_path, name="demo-motion") -> None:
    """A finished motion_qc record; its run id is new per test, so no test sees another's cached scores."""
    model = tmp_path / "model.pt"
    model.write_bytes(b"stand-in")
    record = registry.new_record(f"run-{tmp_path.name}", name, "ab" * 32, {"kind": "motion_qc", "name": name},
                                 model_path=str(model))
    registry.write_record({**record, "status": "FINISHED"})


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> CacheStore:
    """Preprocessing and slices shared by the tests of this file (each test's scores stay its own)."""
    return CacheStore(tmp_path_factory.mktemp("filter-cache"))


@pytest.fixture
def filtered_spec(motion_demo, write_spec, tmp_path, monkeypatch):
    root, moved = motion_demo
    contrast = moved["contrast"]
    corrupted_file = root / moved["subject"] / moved["session"] / "anat" / f"{moved['subject']}_{moved['session']}_{contrast}.nii.gz"
    model = StandInModel(read_input(corrupted_file, SHAPE)[0])
    monkeypatch.setattr(scorer, "load_motion_model", lambda path: model)
    register_motion_run(tmp_path)
    data = tiny_spec_data(root, "filtered", data={
        "dataset": {"source": {"session": "3T", "suffix": contrast}, "target": {"session": "7T", "suffix": contrast}},
        "split": {"train": 0.6, "val": 0.2, "test": 0.2, "val_subjects": ["01"], "test_subjects": ["02"]},
        "qc": {**SLICE_RULES_OFF, "motion_model": "demo-motion", "max_motion_score": 1.0}})
    return write_spec("filtered", data), moved["subject"].removeprefix("sub-"), model


def test_the_corrupted_volume_drops_its_subject_with_reason_motion(filtered_spec, store):
    path, subject, model = filtered_spec
    spec = load_spec(path)
    data = prepare_data(spec, store, workers=1, progress=False)
    rows, table = qc_filtered_rows(data, spec.experiment.data.qc)
    moved = table["subject"] == subject
    assert moved.any() and table.loc[moved, "reasons"].eq("motion").all() and table.loc[moved, "flagged"].all()
    assert not table.loc[~moved, "flagged"].any()
    assert (table.loc[moved, ["source_motion_score", "target_motion_score"]].max(axis=1) == 3.0).all()
    train = table[table["split"] == "train"]
    assert set(rows) == set(train.loc[train["subject"] != subject, "row"])  # the corrupted subject trains (ids 3-5)
    summary = qc_summary(train).set_index("subject")
    assert summary.loc[subject, "motion"] == moved[table["split"] == "train"].sum() > 0
    assert model.calls == 10  # five subjects, source and target each


def test_scores_are_cached_and_a_new_limit_rebuilds_nothing(filtered_spec, store):
    path, subject, model = filtered_spec
    data = prepare_data(load_spec(path), store, workers=1, progress=False)
    qc_filtered_rows(data, load_spec(path).experiment.data.qc)
    built, calls = len(store.builds), model.calls
    looser = load_spec(path, ["data.qc.max_motion_score=5"])
    again = prepare_data(looser, store, workers=1, progress=False)
    rows, table = qc_filtered_rows(again, looser.experiment.data.qc)
    assert len(store.builds) == built and model.calls == calls  # no preprocessing, slices or scoring redone
    assert not table["flagged"].any() and len(rows) == int((table["split"] == "train").sum())
    assert again.slices.key == data.slices.key


def test_scores_alone_are_reported_without_a_limit(filtered_spec, store):
    path, _, _ = filtered_spec
    spec = load_spec(path, ["data.qc.max_motion_score=null"])
    _, table = qc_filtered_rows(prepare_data(spec, store, workers=1, progress=False),
                                spec.experiment.data.qc)
    assert not table["flagged"].any() and table["source_motion_score"].notna().all()


def test_a_missing_motion_model_is_a_clear_error(filtered_spec, store):
    path, _, _ = filtered_spec
    spec = load_spec(path, ["data.qc.motion_model=no-such-run"])
    data = prepare_data(spec, store, workers=1, progress=False)
    with pytest.raises(DataError, match="no finished motion_qc run with a model matches 'no-such-run'"):
        qc_filtered_rows(data, spec.experiment.data.qc)


def test_apply_qc_without_scores_refuses_the_motion_rule():
    from mrsynth.qc.filter import apply_qc
    from mrsynth.spec.qc import QCSpec

    table = pd.DataFrame({"subject": ["a", "b"], "slice": [1, 2]})
    qc = QCSpec(**{**SLICE_RULES_OFF, "motion_model": "m", "max_motion_score": 1.0})
    with pytest.raises(DataError, match="needs the volumes' motion scores"):
        apply_qc(table, qc)
    scores = pd.DataFrame({"subject": ["a"], "source_motion_score": [0.5], "target_motion_score": [1.5]})
    out = apply_qc(table, qc, scores)
    assert out["reasons"].tolist() == ["motion", "motion=nan"]  # b was never scored: cannot be vouched for
