"""`mrsynth run` of a motion_qc spec: cached samples → SFCN fit → test metrics, calibration plot, real-volume
scores, optional transfer head; tracked in MLflow and the registry like translation runs (a record for every
outcome: FINISHED, FAILED with its reason, KILLED)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from mrsynth.errors import DataError
from mrsynth.fsutil import json_text
from mrsynth.motion.bins import ScoreBins
from mrsynth.motion.generate import MotionData, prepare_motion_data
from mrsynth.motion.scorer import MODEL_FORMAT
from mrsynth.motion.volumes import require_file
from mrsynth.runs import RunResult, TrackedRun, open_run
from mrsynth.tracking import Tracker, spec_params

HEADLINE = ("test/r2", "test/mae", "test/pearson", "val/best_r2", "transfer/balanced_accuracy", "transfer/macro_f1")


class MotionRun(TrackedRun):
    """MLflow run, registry record and local folder of one motion_qc run."""

    def headline(self, metrics: dict[str, float]) -> dict[str, float]:
        return {k: metrics[k] for k in HEADLINE if k in metrics and np.isfinite(metrics[k])}


def run_motion_qc(loaded, tracking_uri: str | None = None, resume: bool = False, progress: bool = True,
                  parent_run_id: str | None = None, extra_tags: dict[str, str] | None = None) -> RunResult:
    """Run one motion_qc spec end to end; every outcome leaves a registry record."""
    if loaded.experiment.transfer is not None:  # fail before minutes of training, not after
        require_file(loaded.resolve_path(loaded.experiment.transfer.labels), "transfer.labels")
    data = prepare_motion_data(loaded, progress=progress)
    run, resume_state = open_run(loaded, data, Tracker(tracking_uri), resume=resume, parent_run_id=parent_run_id,
                                 tags={"kind": "motion_qc", **(extra_tags or {})}, run_class=MotionRun)
    with run.outcome() as outcome:
        if resume_state is None:
            _log_setup(run, loaded, data)
        _train_and_evaluate(run, loaded, data, resume_state, progress, outcome.metrics)
    return outcome.result


def _log_setup(run: MotionRun, loaded, data: MotionData) -> None:
    exp = loaded.experiment
    counts = {split: len(data.split_volumes(split)) for split in ("train", "val", "test")}
    run.tracker.log_params(spec_params(exp.resolved()))
    version = run.record["code_version"]
    run.tracker.set_tags({"spec_hash": loaded.spec_hash, "data_fingerprint": data.data_fingerprint,
                          "git_commit": version.get("commit") or "unknown", "git_dirty": version.get("dirty"),
                          "volumes.excluded": ",".join(sorted(data.excluded)) or "none",
                          **{f"volumes.{split}": n for split, n in counts.items()}})
    run.tracker.log_json(exp.resolved(), "resolved_spec.json")


def score_bins(exp, train_scores: np.ndarray) -> ScoreBins:
    """Bins from 0 to model.score_max, or to the largest training score when that is null."""
    high = exp.model.score_max or float(np.max(train_scores, initial=0.0))
    if high <= 0:
        raise DataError("every generated training sample has score 0: raise motion.max_rotation_deg/max_translation_mm "
                        "or lower motion.clean_fraction")
    return ScoreBins(0.0, high, exp.model.bins, exp.model.label_sigma)


def _train_and_evaluate(run: MotionRun, loaded, data: MotionData, resume_state, progress: bool,
                        metrics: dict[str, float]) -> None:
    """Fit, test and log outputs; `metrics` fills as they are measured (a later failure keeps them)."""
    import torch

    from mrsynth.checkpoint import load_checkpoint
    from mrsynth.device import pick_device
    from mrsynth.motion.train import BEST, fit_sfcn, predict_scores, regression_metrics
    from mrsynth.nn.sfcn import SFCN

    exp = loaded.experiment
    torch.manual_seed(exp.train.seed)
    device = pick_device(exp.train.device)
    (train_x, train_y, _), val, test = (data.arrays(split) for split in ("train", "val", "test"))
    if len(train_y) == 0 or len(val[1]) == 0:
        raise DataError("the split leaves no training or no validation volumes (check data.split and data.exclude)")
    bins = score_bins(exp, train_y)
    net = SFCN(exp.model.widths, exp.model.bins, exp.model.dropout).to(device)
    ckpt = run.checkpoint_dir
    result = fit_sfcn(net, (train_x, train_y), val[:2], bins, exp.train, device, ckpt,
                      lambda epoch, m: run.tracker.log_metrics(m, step=epoch), resume_state, progress)
    net.load_state_dict(load_checkpoint(ckpt / BEST)["net"])
    predicted = predict_scores(net, test[0], bins, device) if len(test[1]) else np.zeros(0)
    metrics.update({f"test/{k}": v for k, v in regression_metrics(predicted, test[1]).items()})
    metrics.update({"val/best_r2": result.best_r2, "best_epoch": float(result.best_epoch or 0),
                    "epochs_done": float(result.epochs_done)})
    run.tracker.log_metrics(metrics, step=result.epochs_done)
    scores, embeddings = _real_volume_outputs(net, bins, data, device)
    head = _transfer(run, loaded, data, embeddings, scores, metrics) if exp.transfer is not None else None
    _log_outputs(run, loaded, net, bins, predicted, test, scores, head, metrics)


def _real_volume_outputs(net, bins: ScoreBins, data: MotionData, device) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Predicted score and embedding of every real volume of the dataset (excluded ones too)."""
    import torch

    from mrsynth.motion.train import predict_scores

    ids = [v.id for v in data.volumes]
    inputs = np.stack([data.inputs[i][1] for i in ids])[:, None]
    predicted = predict_scores(net, inputs, bins, device)
    with torch.no_grad():
        net.eval()
        embedded = np.concatenate([net.embed(torch.from_numpy(inputs[i : i + 16]).float().to(device)).cpu().numpy()
                                   for i in range(0, len(ids), 16)])
    table = pd.DataFrame({"volume": ids, "subject": [v.subject for v in data.volumes],
                          "split": [data.split_of[v.subject] for v in data.volumes],
                          "excluded": [i in data.excluded for i in ids], "predicted_score": predicted})
    return table, dict(zip(ids, embedded, strict=True))


def _transfer(run: MotionRun, loaded, data: MotionData, embeddings, scores: pd.DataFrame, metrics: dict[str, float]):
    from mrsynth.motion.transfer import run_transfer, volume_labels

    spec = loaded.experiment.transfer
    labels = volume_labels(loaded.resolve_path(spec.labels), data.volumes)
    result = run_transfer(embeddings, labels, data.volumes, spec)
    metrics.update({f"transfer/{k}": v for k, v in result.metrics.items()})
    run.tracker.log_metrics({f"transfer/{k}": v for k, v in result.metrics.items()}, step=0)
    scores["label"] = scores["volume"].map(labels)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "transfer_predictions.csv"
        result.table.to_csv(path, index=False)
        run.tracker.log_artifact(path, "transfer")
    return result.head


def _log_outputs(run: MotionRun, loaded, net, bins: ScoreBins, predicted, test, scores: pd.DataFrame, head, metrics) -> None:
    import torch

    from mrsynth.checkpoint import save_checkpoint
    from mrsynth.motion.figures import calibration_plot

    exp = loaded.experiment
    out = run.run_dir / "outputs"
    out.mkdir(parents=True, exist_ok=True)
    calibration_plot(predicted, test[1], out / "calibration.png", f"{exp.name}: test samples", metrics["test/r2"])
    pd.DataFrame({"volume": test[2], "true_score": test[1], "predicted_score": predicted}).to_csv(out / "test_predictions.csv", index=False)
    scores.to_csv(out / "volume_scores.csv", index=False)
    (out / "resolved_spec.json").write_text(json_text(exp.resolved()))
    model = {"format": MODEL_FORMAT, "sfcn": {k: v.detach().cpu() for k, v in net.state_dict().items()},
             "score_range": [bins.low, bins.high], "resolved_spec": json_text(exp.resolved()),
             "spec_hash": loaded.spec_hash, "transfer": head, "torch": str(torch.__version__)}
    save_checkpoint(out / "model.pt", model)
    for name, folder in (("calibration.png", "eval"), ("test_predictions.csv", "eval"), ("volume_scores.csv", "eval"),
                         ("model.pt", "model"), ("resolved_spec.json", "model")):
        run.tracker.log_artifact(out / name, folder)
    run.save_record(model_path=str(out / "model.pt"))
