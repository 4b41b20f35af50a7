"""`mrsynth run` of a motion_qc spec on the tiny demo: registry record, MLflow run, model file, cache reuse, failure."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from mrsynth.cache import CacheStore
from mrsynth.cli import main
from mrsynth.motion.generate import STAGE, prepare_motion_data
from mrsynth.motion.volumes import INPUT_STAGE
from mrsynth.registry import iter_records
from mrsynth.spec.load import load_spec
from mrsynth_testing import stores_under


def tiny_motion_spec(root, labels, name="tiny-motion", **sections) -> dict:
    spec = {
        "kind": "motion_qc", "name": name,
        "data": {"dataset": {"kind": "bids", "root": str(root), "images": [{"session": "3T", "suffix": "T1w"},
                                                                         {"session": "7T", "suffix": "T1w"}]},
                 "split": {"train": 0.5, "val": 0.25, "test": 0.25}, "shape": [16, 16, 16]},
        "motion": {"samples_per_volume": 3, "clean_fraction": 0.0,
                   "augment": {"elastic_probability": 0.0}},
        "model": {"widths": [2, 4, 4], "bins": 10},
        "train": {"epochs": 2, "batch_size": 4, "device": "cpu"},
        "transfer": {"labels": str(labels), "hidden": [4], "epochs": 5, "folds": 2},
    }
    spec.update(sections)
    return spec


def write_labels(path, subjects, odd_label="odd"):
    rows = ["subject,label"] + [f"{s},{odd_label if i % 2 else 'clean'}" for i, s in enumerate(subjects)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def finished(tiny_demo, tmp_path_factory):
    stores = tmp_path_factory.mktemp("motion-run")
    with stores_under(stores) as env:
        labels = write_labels(stores / "labels.csv", ["01", "02", "03", "04"])
        spec_path = stores / "experiments" / "tiny-motion.json"
        spec_path.parent.mkdir()
        spec_path.write_text(json.dumps(tiny_motion_spec(tiny_demo, labels)))
        code = main(["run", str(spec_path)])
        yield spec_path, code, env, list(iter_records())


@pytest.fixture
def finished_env(finished, monkeypatch):
    for key, value in finished[2].items():
        monkeypatch.setenv(key, value)
    return finished


def test_run_command_dispatches_and_leaves_a_finished_record(finished_env, capsys):
    spec_path, code, env, records = finished_env
    assert code == 0
    (record,) = records
    assert record["status"] == "FINISHED" and record["spec_name"] == "tiny-motion"
    assert record["spec_hash"] == load_spec(spec_path).spec_hash
    assert record["resolved_spec"]["kind"] == "motion_qc"
    assert {"test/r2", "test/mae", "val/best_r2", "transfer/balanced_accuracy"} <= set(record["metrics"])
    assert 0.0 <= record["metrics"]["transfer/balanced_accuracy"] <= 1.0
    assert len(record["cache_keys"][STAGE]) == 8 and len(record["cache_keys"][INPUT_STAGE]) == 8
    assert record["model_path"].endswith("model.pt")


def test_mlflow_run_has_params_metrics_and_artifacts(finished_env):
    _, _, env, (record,) = finished_env
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    run = client.get_run(record["run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["kind"] == "motion_qc"
    assert run.data.params["motion.samples_per_volume"] == "3" and run.data.params["model.bins"] == "10"
    assert [m.step for m in client.get_metric_history(record["run_id"], "val/r2")] == [1, 2]
    assert "test/r2" in run.data.metrics and "transfer/f1_clean" in run.data.metrics
    eval_files = {a.path for a in client.list_artifacts(record["run_id"], "eval")}
    assert {"eval/calibration.png", "eval/test_predictions.csv", "eval/volume_scores.csv"} <= eval_files
    model_files = {a.path for a in client.list_artifacts(record["run_id"], "model")}
    assert {"model/model.pt", "model/resolved_spec.json"} <= model_files


def test_saved_model_scores_volumes_in_its_score_range(finished_env, tiny_demo):
    from mrsynth.motion.scorer import load_motion_model
    from mrsynth.motion.volumes import read_input

    _, _, _, (record,) = finished_env
    model = load_motion_model(record["model_path"])
    array, _ = read_input(tiny_demo / "sub-01" / "ses-3T" / "anat" / "sub-01_ses-3T_T1w.nii.gz", model.shape)
    (score,) = model.score(array[None])
    assert model.bins.low <= score <= model.bins.high and model.shape == (16, 16, 16)


def test_samples_are_cached_and_reproducible(tiny_demo, tmp_path, write_spec):
    labels = write_labels(tmp_path / "labels.csv", ["01", "02", "03", "04"])
    store = CacheStore(tmp_path / "cache")
    spec = load_spec(write_spec("m", tiny_motion_spec(tiny_demo, labels)))
    first = prepare_motion_data(spec, store, progress=False)
    built = len(store.builds)
    assert built == 16  # 8 inputs + 8 sample sets
    retrained = load_spec(write_spec("m", tiny_motion_spec(tiny_demo, labels)), ["train.epochs=5", "model.bins=20"])
    again = prepare_motion_data(retrained, store, progress=False)
    assert len(store.builds) == built  # training and model settings reuse every sample
    x1, y1, _ = first.arrays("train")
    x2, y2, _ = again.arrays("train")
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    reseeded = prepare_motion_data(load_spec(write_spec("m", tiny_motion_spec(tiny_demo, labels)), ["motion.seed=1"]),
                                   store, progress=False)
    assert [s for s, _ in store.builds[built:]] == [STAGE] * 8  # inputs reused, new samples
    assert not np.array_equal(reseeded.arrays("train")[1], y1)


def test_excluded_volumes_get_no_samples(tiny_demo, tmp_path, write_spec):
    labels = tmp_path / "exclude.csv"
    labels.write_text("subject,session,suffix,label\n02,3T,T1w,motion\n03,7T,T1w,clean\n")
    spec = load_spec(write_spec("m", tiny_motion_spec(tiny_demo, labels, data={
        **tiny_motion_spec(tiny_demo, labels)["data"], "exclude": str(labels)})))
    data = prepare_motion_data(spec, CacheStore(tmp_path / "cache"), progress=False)
    assert data.excluded == {"sub-02_ses-3T_T1w"}
    assert "sub-02_ses-3T_T1w" not in data.samples and "sub-02_ses-3T_T1w" in data.inputs


def test_a_failure_after_training_leaves_a_failed_record(finished_env, tiny_demo, tmp_path):
    from mrsynth.motion.runner import run_motion_qc

    labels = write_labels(tmp_path / "labels.csv", ["91", "92"])  # no such subjects
    spec_path = tmp_path / "experiments" / "bad.json"
    spec_path.parent.mkdir()
    spec_path.write_text(json.dumps(tiny_motion_spec(tiny_demo, labels, name="bad", train={"epochs": 1, "device": "cpu"})))
    result = run_motion_qc(load_spec(spec_path), progress=False)
    (record,) = [r for r in iter_records() if r["spec_name"] == "bad"]
    assert result.status == "FAILED" and record["status"] == "FAILED"
    assert "no row matches a volume" in record["reason"] and record["ended_at"]
    assert "test/r2" in record["metrics"]  # what was measured before the failure is kept
    assert MlflowClient(finished_env[2]["MLFLOW_TRACKING_URI"]).get_run(record["run_id"]).info.status == "FAILED"


def test_motion_score_command_scores_files_once(finished_env, tiny_demo, capsys):
    from mrsynth.motion.scorer import STAGE as SCORES
    from mrsynth.paths import cache_dir

    volume = tiny_demo / "sub-02" / "ses-7T" / "anat" / "sub-02_ses-7T_T1w.nii.gz"
    assert main(["motion-score", "tiny-motion", str(volume)]) == 0
    score, name = capsys.readouterr().out.split()
    assert name == str(volume) and float(score) >= 0
    entries = list((cache_dir() / SCORES).glob("*/entry.json"))
    assert main(["motion-score", "tiny-motion", str(volume)]) == 0
    assert capsys.readouterr().out.split()[0] == score and list((cache_dir() / SCORES).glob("*/entry.json")) == entries


def test_resume_continues_a_failed_run_from_its_checkpoint(finished_env, tiny_demo, tmp_path, capsys):
    """A run that failed after training (bad labels) resumes once the labels are fixed: no epoch is repeated."""
    labels = write_labels(tmp_path / "labels.csv", ["91", "92"])
    spec_path = tmp_path / "experiments" / "again.json"
    spec_path.parent.mkdir()
    spec_path.write_text(json.dumps(tiny_motion_spec(tiny_demo, labels, name="again")))
    assert main(["run", str(spec_path)]) == 1
    (failed,) = [r for r in iter_records() if r["spec_name"] == "again"]
    write_labels(labels, ["01", "02", "03", "04"])  # the labels file is data, not part of the spec hash
    assert main(["run", str(spec_path), "--resume"]) == 0
    (record,) = [r for r in iter_records() if r["spec_name"] == "again"]
    assert record["run_id"] == failed["run_id"] and record["status"] == "FINISHED"
    history = MlflowClient(finished_env[2]["MLFLOW_TRACKING_URI"]).get_metric_history(record["run_id"], "val/r2")
    assert [m.step for m in history] == [1, 2]
