"""`mrsynth run` end to end on the tiny demo, checked through the MLflow client and the registry."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from mrsynth.cli import main
from mrsynth.registry import iter_records
from mrsynth.spec.load import load_spec
from mrsynth.tracking import resolve_tracking_uri
from mrsynth.train.build import build_networks
from mrsynth.train.runner import run_experiment
from mrsynth_testing import stores_under, tiny_spec_data


@pytest.fixture(scope="module")
def finished(tiny_demo, tmp_path_factory):
    """One finished run, shared by the read-only checks below."""
    stores = tmp_path_factory.mktemp("finished")
    with stores_under(stores) as env:
        spec_path = stores / "experiments" / "tiny.json"
        spec_path.parent.mkdir()
        spec_path.write_text(json.dumps(tiny_spec_data(tiny_demo, "tiny", family="tinyfam")))
        spec = load_spec(spec_path)
        yield spec, run_experiment(spec, progress=False, workers=1), env


@pytest.fixture
def finished_env(finished, monkeypatch):
    for key, value in finished[2].items():
        monkeypatch.setenv(key, value)
    return finished


def test_mlflow_run_has_params_tags_metrics_and_artifacts(finished_env):
    spec, result, env = finished_env
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "tiny"
    assert client.get_experiment(run.info.experiment_id).name == "tinyfam"
    params = run.data.params
    assert params["loss.l1"] == "100.0" and params["masking.kind"] == "intersection"
    assert params["data.slicing.size"] == "[40, 40]"
    counts = build_networks(spec.experiment).parameter_counts()
    assert int(params["n_params.generator"]) == counts["generator"] > 0
    assert int(params["n_params.discriminator"]) == counts["discriminator"] > 0
    tags = run.data.tags
    assert tags["spec_hash"] == spec.spec_hash and len(tags["cache.slices"]) == 64
    assert int(tags["qc.kept"]) > 0 and int(tags["qc.dropped"]) >= 0 and tags["data_fingerprint"]
    assert "git_commit" in tags
    history = client.get_metric_history(result.run_id, "train/g_l1")
    assert [m.step for m in history] == [1, 2]
    for key in ("val/psnr_brain", "val/ssim_brain", "lr/generator", "time/epoch_seconds", "test/psnr_brain",
                "test/identity_psnr_brain", "test/mae", "test/edge_corr_source", "test/target_edge_corr_source"):
        assert key in run.data.metrics, key
    for split in ("val", "test"):  # the trivial baselines: one point each, not one per epoch
        for kind in ("identity", "constant", "monotone", "best_trivial"):
            assert len(client.get_metric_history(result.run_id, f"{split}/{kind}_ssim_brain")) == 1, (split, kind)
    assert tags["baseline.beaten"] in ("true", "false")
    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {"resolved_spec.json", "qc", "samples", "model", "eval", "test_predictions"} <= artifacts
    grids = [a.path for a in client.list_artifacts(result.run_id, "samples")]
    assert grids == ["samples/epoch_0001.png", "samples/epoch_0002.png"]


def test_registry_record_matches_the_run(finished_env):
    spec, result, env = finished_env
    (record,) = [r for r in iter_records() if r["run_id"] == result.run_id]
    assert record["status"] == "FINISHED" and record["spec_hash"] == spec.spec_hash
    assert record["resolved_spec"] == spec.experiment.resolved()
    assert record["mlflow"]["run_id"] == result.run_id
    assert set(record["cache_keys"]) == {"preprocess", "slices"}
    assert record["metrics"]["test/psnr_brain"] == pytest.approx(result.metrics["test/psnr_brain"])
    # validation of the selected checkpoint beside its baselines, and the verdict, as in the run's summary
    history = MlflowClient(env["MLFLOW_TRACKING_URI"]).get_metric_history(result.run_id, "val/ssim_brain")
    best = next(m.value for m in history if m.step == record["metrics"]["best_epoch"])
    assert record["metrics"]["val/ssim_brain"] == pytest.approx(best)
    best_trivial = record["metrics"]["val/best_trivial_ssim_brain"]
    assert best_trivial == max(record["metrics"][f"val/{k}_ssim_brain"] for k in ("identity", "constant", "monotone"))
    assert record["metrics"]["baseline.beaten"] == float(best > best_trivial)


def test_per_subject_table_has_the_model_and_every_baseline(finished_env):
    import pandas as pd

    spec, result, env = finished_env
    table = pd.read_csv(result.run_dir / "outputs" / "test_per_subject.csv")
    assert {"psnr_brain", "identity_psnr_brain", "constant_ssim", "monotone_mae_brain"} <= set(table.columns)
    assert table["monotone_ssim_brain"].mean() == pytest.approx(result.metrics["test/monotone_ssim_brain"])


def test_test_predictions_are_nifti_in_target_space(finished_env, tmp_path):
    import nibabel as nib

    spec, result, env = finished_env
    preds = sorted((result.run_dir / "outputs" / "test_predictions").glob("*.nii.gz"))
    assert preds
    subject = preds[0].name.split("_")[0].removeprefix("sub-")
    target = nib.as_closest_canonical(nib.load(next(spec.resolve_path(spec.experiment.data.dataset.root).glob(f"sub-{subject}/ses-7T/anat/*_T1w.nii.gz"))))
    image = nib.load(preds[0])
    assert image.shape == target.shape
    np.testing.assert_allclose(image.affine, target.affine, atol=1e-4)


def test_test_prediction_volumes_cover_every_slice_and_match_the_scored_slices(finished_env):
    import nibabel as nib
    import torch

    from mrsynth.data.prepare import prepare_data
    from mrsynth.predict import load_model
    from mrsynth.train.evaluate import evaluate

    spec, result, env = finished_env
    exp, generator, (low, high) = load_model(result.run_dir / "outputs" / "model.pt")
    data = prepare_data(spec, workers=1, progress=False)
    _, _, scored = evaluate(generator, data.slices, "test", torch.device("cpu"))
    table = data.slices.table()
    table = table[table["split"] == "test"]
    for subject, rows in table.groupby("subject"):
        written = nib.load(result.run_dir / "outputs" / "test_predictions" / f"sub-{subject}_pred.nii.gz").get_fdata()
        normalised = 2.0 * (written - low) / (high - low) - 1.0
        stored = rows["slice"].to_numpy()
        np.testing.assert_allclose(np.moveaxis(normalised, 2, 0)[stored], scored[rows["row"].to_numpy()], atol=2e-4)
        brain = np.asarray(data.subject_volumes(subject).array("source_mask"), dtype=bool)
        unstored = np.setdiff1d(np.flatnonzero(brain.any(axis=(0, 1))), stored)
        assert unstored.size  # the tiny demo has brain slices under the stored-slice brain fraction
        # predicted, not left as background; background outside the source brain mask
        assert all(np.abs(normalised[:, :, z][brain[:, :, z]] + 1.0).max() > 0.05 for z in unstored)
        np.testing.assert_allclose(normalised[~brain], -1.0, atol=1e-5)


def test_run_test_predictions_equal_predict_on_the_cached_source(finished_env, tmp_path, capsys):
    """One prediction path: a test subject's cached source and brain mask as NIfTI, `mrsynth predict --preprocessed`
    gives the run's test volume; both on the model's scale (mean of the training targets'), background outside."""
    import nibabel as nib

    from mrsynth.data.prepare import prepare_data

    spec, result, env = finished_env
    data = prepare_data(spec, workers=1, progress=False)
    subject = data.slices.subjects("test")[0]
    volumes = data.subject_volumes(subject)
    from_run = nib.load(result.run_dir / "outputs" / "test_predictions" / f"sub-{subject}_pred.nii.gz")
    given, mask = tmp_path / "source.nii.gz", tmp_path / "mask.nii.gz"
    nib.save(nib.Nifti1Image(np.asarray(volumes.array("source")), volumes.affine), given)
    nib.save(nib.Nifti1Image(np.asarray(volumes.array("source_mask"), dtype=np.uint8), volumes.affine), mask)
    out = tmp_path / "pred.nii.gz"
    assert main(["predict", result.run_id, str(given), str(out), "--mask", str(mask), "--preprocessed"]) == 0
    from_command, run_voxels = np.asarray(nib.load(out).dataobj), np.asarray(from_run.dataobj)
    np.testing.assert_allclose(from_command, run_voxels, rtol=1e-6, atol=1e-4)
    train_scales = [data.slices.facts["subjects"][s]["target_scale"] for s in data.slices.subjects("train")]
    low = float(np.mean([lo for lo, _ in train_scales]))
    brain = np.asarray(volumes.array("source_mask"), dtype=bool)
    np.testing.assert_allclose(run_voxels[~brain], low, rtol=1e-6)
    assert "already preprocessed" in capsys.readouterr().out


def test_run_prints_each_validation_epoch_and_warns_below_the_best_trivial_baseline(tiny_demo, write_spec, run_env,
                                                                                   capsys):
    """An untrained model (1 epoch at a negligible learning rate) cannot beat a fitted intensity map."""
    spec = tiny_spec_data(tiny_demo, "untrained", train={"epochs": 1, "decay_epochs": 0, "lr_g": 1e-9, "lr_d": 1e-9})
    assert main(["run", str(write_spec("untrained", spec))]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^epoch 1/1  val ssim_brain -?\d\.\d{4}  \(identity -?\d\.\d{4}, best trivial \d\.\d{4}: \w+\)$",
                     out, re.MULTILINE), out
    assert re.search(r"^  ssim_brain +test +", out, re.MULTILINE) and "best trivial" in out
    assert "  WARNING: the selected checkpoint (epoch 1, val/ssim_brain" in out
    (record,) = [r for r in iter_records() if r["spec_name"] == "untrained"]
    assert record["metrics"]["baseline.beaten"] == 0.0
    assert MlflowClient(resolve_tracking_uri()).get_run(record["run_id"]).data.tags["baseline.beaten"] == "false"


def test_nan_loss_fails_the_run_with_reason(tiny_demo, write_spec, run_env):
    path = write_spec("boom", tiny_spec_data(tiny_demo, "boom", loss={"l1": 1e300}))
    result = run_experiment(load_spec(path), progress=False, workers=1)
    assert result.status == "FAILED" and "non-finite loss" in result.reason
    run = MlflowClient(resolve_tracking_uri()).get_run(result.run_id)
    assert run.info.status == "FAILED" and "non-finite loss" in run.data.tags["failure_reason"]
    (record,) = [r for r in iter_records() if r["run_id"] == result.run_id]
    assert record["status"] == "FAILED" and "non-finite loss" in record["reason"]


def test_predict_keeps_shape_and_affine_and_is_deterministic(finished_env, tmp_path):
    import nibabel as nib

    spec, result, env = finished_env
    root = spec.resolve_path(spec.experiment.data.dataset.root)
    source = next(root.glob("sub-01/ses-3T/anat/*_T1w.nii.gz"))
    mask = next(root.glob("derivatives/masks/sub-01/ses-3T/anat/*_mask.nii.gz"))
    out_a, out_b = tmp_path / "a.nii.gz", tmp_path / "b.nii.gz"
    assert main(["predict", result.run_id, str(source), str(out_a), "--mask", str(mask)]) == 0
    assert main(["predict", "tiny", str(source), str(out_b), "--mask", str(mask)]) == 0
    original, a, b = nib.load(source), nib.load(out_a), nib.load(out_b)
    assert a.shape == original.shape
    np.testing.assert_allclose(a.affine, original.affine)
    np.testing.assert_array_equal(np.asarray(a.dataobj), np.asarray(b.dataobj))
    assert b"mrsynth tiny" in a.header["descrip"].tobytes()


def test_predict_says_which_run_and_how_the_mask_was_found(finished_env, tmp_path, capsys):
    """A provided-masks model needs no --mask for an input the project can strip itself; the output names the
    run and spec it used, as `predict SPEC_NAME` takes the latest finished run."""
    spec, result, env = finished_env
    source = next(spec.resolve_path(spec.experiment.data.dataset.root).glob("sub-01/ses-3T/anat/*_T1w.nii.gz"))
    assert main(["predict", "tiny", str(source), str(tmp_path / "x.nii.gz"), "--skull-strip", "threshold"]) == 0
    out = capsys.readouterr().out
    assert f"model: run {result.run_id} of spec tiny ({spec.spec_hash[:12]})" in out
    assert "brain mask: threshold (the model was trained on provided masks; pass --mask to use yours)" in out
    assert (tmp_path / "x.nii.gz").is_file()


def test_predict_refuses_a_junk_model_file_without_quoting_it(tmp_path, capsys):
    junk = tmp_path / "j.pt"
    junk.write_bytes(b"junk s3cr3t bytes\n")
    assert main(["predict", str(junk), str(tmp_path / "in.nii.gz"), str(tmp_path / "out.nii.gz")]) == 1
    err = capsys.readouterr().err
    assert "not a readable PyTorch checkpoint" in err and "s3cr3t" not in err and "Traceback" not in err


def test_compare_lists_differences_and_metrics(finished_env, tiny_demo, write_spec, capsys):
    spec, result, env = finished_env
    other = write_spec("tiny-l1", tiny_spec_data(tiny_demo, "tiny-l1", loss={"l1": 10.0}, train={"epochs": 1, "decay_epochs": 0}))
    second = run_experiment(load_spec(other), progress=False, workers=1)
    assert main(["compare", "tiny", second.run_id]) == 0
    out = capsys.readouterr().out
    assert "loss.l1" in out and "100.0" in out and "10.0" in out
    assert "train.epochs" in out and "test/psnr_brain" in out
    assert f"{result.metrics['test/psnr_brain']:.4f}" in out
    assert main(["compare", "tiny", second.run_id, "--markdown"]) == 0
    table = capsys.readouterr().out
    assert "| loss.l1 | 100.0 | 10.0 |" in table
    assert f"| test/edge_corr_source | {result.metrics['test/edge_corr_source']:.4f} |" in table
    assert f"| test/best_trivial_ssim_brain | {result.metrics['test/best_trivial_ssim_brain']:.4f} |" in table
    assert re.search(r"^\| baseline\.beaten \| (yes|no) \| (yes|no) \|$", table, re.MULTILINE)


def test_predict_covers_a_plane_larger_than_the_training_slices(finished_env, tmp_path):
    import nibabel as nib

    spec, result, env = finished_env
    root = spec.resolve_path(spec.experiment.data.dataset.root)
    source = nib.load(next(root.glob("sub-01/ses-3T/anat/*_T1w.nii.gz")))
    mask = nib.load(next(root.glob("derivatives/masks/sub-01/ses-3T/anat/*_mask.nii.gz")))
    pad = ((24, 0), (20, 0), (0, 0))  # 64 x 60 in-plane with the head off-centre; training slices are 40 x 40
    affine = source.affine.copy()
    affine[:3, 3] -= affine[:3, :3] @ np.array([24, 20, 0])
    big_src, big_mask = tmp_path / "big.nii.gz", tmp_path / "big_mask.nii.gz"
    nib.save(nib.Nifti1Image(np.pad(np.asarray(source.dataobj), pad), affine), big_src)
    nib.save(nib.Nifti1Image(np.pad(np.asarray(mask.dataobj), pad), affine), big_mask)
    out = tmp_path / "big_pred.nii.gz"
    assert main(["predict", result.run_id, str(big_src), str(out), "--mask", str(big_mask)]) == 0
    pred = np.asarray(nib.load(out).dataobj)
    brain = np.pad(np.asarray(mask.dataobj), pad) > 0
    assert pred.shape == brain.shape
    background = pred[~brain].min()
    # every brain voxel was predicted, including those outside the central 32 x 32 training crop
    outside_crop = brain.copy()
    outside_crop[12:52, 10:50, :] = False  # the central 40 x 40 a crop to the training size would keep
    assert outside_crop.any() and (pred[outside_crop] != background).mean() > 0.9


def test_a_kill_after_test_evaluation_then_resume_logs_each_test_metric_once(tiny_demo, write_spec, monkeypatch):
    """Killed while writing the outputs (test metrics already logged): --resume finishes without a second point."""
    import mrsynth.train.runner as runner

    spec = load_spec(write_spec("killed", tiny_spec_data(tiny_demo, "killed", train={"epochs": 1, "decay_epochs": 0})))
    real_outputs = runner._log_outputs

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_log_outputs", killed)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(spec, progress=False, workers=1)
    monkeypatch.setattr(runner, "_log_outputs", real_outputs)
    result = run_experiment(spec, resume=True, progress=False, workers=1)
    assert result.status == "FINISHED"
    client = MlflowClient(resolve_tracking_uri(None))
    for key in ("test/psnr_brain", "test/ssim_brain", "best_epoch"):
        assert len(client.get_metric_history(result.run_id, key)) == 1, key
