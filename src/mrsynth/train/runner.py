"""`mrsynth run`: cached data → networks → fit → test evaluation, all tracked in MLflow and the registry."""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from mrsynth.data.prepare import PreparedData, prepare_data, require_split
from mrsynth.errors import MrsynthError
from mrsynth.fsutil import json_text
from mrsynth.runs import RunResult, TrackedRun, open_run
from mrsynth.spec.load import LoadedSpec
from mrsynth.tracking import Tracker, spec_params


def qc_filtered_rows(data: PreparedData, qc) -> tuple[np.ndarray, pd.DataFrame]:
    """Training rows that pass the QC filter, and the whole table with `flagged`/`reasons` columns.

    Only training slices are filtered: validation and test keep every stored slice, so runs that differ
    in their filter are scored on the same slices. With `qc.motion_model`, each subject's source and target
    volumes get a motion score (cached per model run and file content) and the table gets their columns."""
    from mrsynth.motion.scorer import qc_motion_scores
    from mrsynth.qc.filter import apply_qc

    table = apply_qc(data.slices.table(), qc, qc_motion_scores(data, qc))
    train = table[table["split"] == "train"]
    keep = ~train["flagged"].to_numpy() if qc.enabled else np.ones(len(train), dtype=bool)
    return np.sort(train["row"].to_numpy()[keep]), table


def _log_setup(run: TrackedRun, data: PreparedData, table: pd.DataFrame, kept: int, qc_figures: bool) -> None:
    exp = run.loaded.experiment
    train_rows = int((table["split"] == "train").sum())
    version = run.record["code_version"]
    run.tracker.log_params(spec_params(exp.resolved()))
    run.tracker.set_tags({
        "spec_hash": run.loaded.spec_hash, "cache.preprocess": ",".join(f"{s}:{k[:12]}" for s, k in data.preprocess_keys.items()),
        "cache.slices": data.slices.key, "data_fingerprint": data.data_fingerprint,
        "git_commit": version.get("commit") or "unknown", "git_dirty": version.get("dirty"),
        "qc.kept": kept, "qc.dropped": train_rows - kept, "skipped_subjects": ",".join(data.skipped) or "none",
    })
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "resolved_spec.json").write_text(json_text(exp.resolved()))
        run.tracker.log_artifact(tmp / "resolved_spec.json")
        table.to_csv(tmp / "qc_table.csv", index=False)
        from mrsynth.qc.filter import qc_summary

        qc_summary(table[table["split"] == "train"]).to_csv(tmp / "qc_summary.csv", index=False)
        run.tracker.log_artifact(tmp / "qc_table.csv", "qc")
        run.tracker.log_artifact(tmp / "qc_summary.csv", "qc")
        if qc_figures:
            from mrsynth.qc.report import write_report

            write_report(table, tmp / "report", data.volumes, worst_n=6, axis=exp.data.slicing.axis)
            run.tracker.log_artifact(tmp / "report", "qc/report")


def run_experiment(loaded: LoadedSpec, tracking_uri: str | None = None, resume: bool = False, progress: bool = True,
                   parent_run_id: str | None = None, extra_tags: dict[str, str] | None = None, hooks=None,
                   workers: int | None = None, qc_figures: bool = True) -> RunResult:
    """Run one spec end to end. Every outcome (finished, failed, interrupted) leaves a registry record.

    `qc_figures=False` skips the QC report figures (search trials: the table and summary are still logged).
    Under torchrun every process calls this; rank 0 prepares the data first, tracks, validates and
    checkpoints, the other ranks train their shard of each batch."""
    from mrsynth.train import distributed

    dist = distributed.context_from_env()
    distributed.init(dist)
    try:
        if dist.is_main:
            data = prepare_data(loaded, workers=workers, progress=progress)
            distributed.barrier(dist)
            return _lead(loaded, data, dist, tracking_uri=tracking_uri, resume=resume, progress=progress,
                         parent_run_id=parent_run_id, extra_tags=extra_tags or {}, hooks=hooks, qc_figures=qc_figures)
        distributed.barrier(dist)
        return _follow(loaded, prepare_data(loaded, workers=1, progress=False), dist)
    finally:
        distributed.shutdown(dist)


def _training_rows(loaded: LoadedSpec, data: PreparedData) -> tuple[np.ndarray, pd.DataFrame]:
    require_split(data)
    rows, table = qc_filtered_rows(data, loaded.experiment.data.qc)
    if len(rows) == 0:
        raise MrsynthError(f"{loaded.name}: the QC filter drops every training slice; loosen data.qc")
    return rows, table


def _setup(exp, data: PreparedData, rows: np.ndarray, dist):
    import torch

    from mrsynth.device import pick_device
    from mrsynth.train.build import build_networks
    from mrsynth.train.datasets import training_set

    torch.manual_seed(exp.train.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = pick_device(exp.train.device)
    if device.type == "cuda" and dist.enabled:
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    return device, build_networks(exp), training_set(exp, data, rows)


def _share_run_dir(dist, run_dir: Path | None) -> Path:
    """Rank 0 tells the other ranks where the run's checkpoints live."""
    if not dist.enabled:
        return run_dir
    import torch.distributed

    box = [str(run_dir) if run_dir else None]
    torch.distributed.broadcast_object_list(box, src=0)
    return Path(box[0])


def _follow(loaded: LoadedSpec, data: PreparedData, dist) -> RunResult:
    """A non-zero rank: train its shard; no tracking, validation or checkpoints."""
    from mrsynth.checkpoint import load_checkpoint
    from mrsynth.train.loop import LAST, fit

    rows, _ = _training_rows(loaded, data)
    run_dir = _share_run_dir(dist, None)
    resume_state = load_checkpoint(run_dir / "checkpoints" / LAST) if (run_dir / "checkpoints" / LAST).is_file() else None
    device, nets, train = _setup(loaded.experiment, data, rows, dist)
    fit(loaded.experiment, nets, train, lambda: ({}, None), device, ckpt_dir=run_dir / "checkpoints", hooks=None,
        resume=resume_state, progress=False, dist=dist)
    return RunResult("", "FINISHED", {}, "", run_dir)


def _lead(loaded: LoadedSpec, data: PreparedData, dist, *, tracking_uri: str | None, resume: bool, progress: bool,
          parent_run_id: str | None, extra_tags: dict[str, str], hooks, qc_figures: bool) -> RunResult:
    """Rank 0: track the run, fit with validation, test the best generator and log its outputs."""
    from mrsynth.inference.split import split_predictor
    from mrsynth.train.loop import StopTraining

    rows, table = _training_rows(loaded, data)
    run, resume_state = open_run(loaded, data, Tracker(tracking_uri), resume=resume, parent_run_id=parent_run_id,
                                 tags=extra_tags)
    _share_run_dir(dist, run.run_dir)
    with run.outcome(stopped=(StopTraining,)) as outcome:
        if resume_state is None:
            _log_setup(run, data, table, len(rows), qc_figures)
        device, nets, train = _setup(loaded.experiment, data, rows, dist)
        if resume_state is None:
            run.tracker.log_params({f"n_params.{k}": v for k, v in nets.parameter_counts().items()})
        predictor = split_predictor(loaded.experiment, data, device)
        baselines, val_baselines = _baselines(run, data, rows)
        result = _fit(run, data, nets, train, device, predictor, val_baselines, hooks=hooks, resume=resume_state,
                      progress=progress, dist=dist)
        _judge(run, result, val_baselines, outcome.metrics)
        _test(run, data, nets.generator, device, predictor, baselines, result, outcome.metrics)
    return outcome.result


def _baselines(run: TrackedRun, data: PreparedData, rows: np.ndarray):
    """The trivial baselines fitted on the training slices the model trains on, and their validation metrics
    (logged once: they do not change from epoch to epoch)."""
    from mrsynth.train.baselines import fit_baselines
    from mrsynth.train.evaluate import evaluate_baselines, split_arrays

    baselines = fit_baselines(split_arrays(data.slices, "train", rows))
    val_baselines, _ = evaluate_baselines(baselines, data.slices, "val")
    run.tracker.log_metrics_once(val_baselines, step=0)
    return baselines, val_baselines


def _fit(run: TrackedRun, data: PreparedData, nets, train, device, predictor, val_baselines: dict[str, float], *,
         hooks, resume, progress, dist):
    """Fit with validation every `eval.every` epochs, then load the generator of the best validated epoch."""
    from mrsynth.train.epoch_log import EpochLog
    from mrsynth.train.evaluate import split_arrays
    from mrsynth.train.loop import fit

    validate = partial(_validate, nets.generator, data.slices, device, predictor)
    say = (lambda line: print(line, flush=True)) if progress else (lambda line: None)
    epoch_log = EpochLog(run, split_arrays(data.slices, "val"), hooks, val_baselines, say)
    result = fit(run.loaded.experiment, nets, train, validate, device, ckpt_dir=run.checkpoint_dir,
                 hooks=epoch_log.hooks(), resume=resume, progress=progress, dist=dist)
    _load_best(nets.generator, run.checkpoint_dir)
    return result


def _validate(generator, slices, device, predictor) -> tuple[dict[str, float], np.ndarray]:
    from mrsynth.train.evaluate import evaluate

    val_metrics, _, preds = evaluate(generator, slices, "val", device, predictor=predictor)
    return val_metrics, preds


def _load_best(generator, ckpt_dir: Path) -> None:
    """The kept generator is the best validated one; without a validated epoch, the last."""
    from mrsynth.checkpoint import load_checkpoint
    from mrsynth.train.loop import BEST

    if (ckpt_dir / BEST).is_file():
        generator.load_state_dict(load_checkpoint(ckpt_dir / BEST)["generator"])


def _test(run: TrackedRun, data: PreparedData, generator, device, predictor, baselines, result,
          metrics: dict[str, float]) -> None:
    """Score the test split and its baselines into `metrics` (kept by the record even if logging the outputs
    fails), log the outputs."""
    from mrsynth.train.evaluate import evaluate, evaluate_baselines

    test_metrics, per_subject, _ = evaluate(generator, data.slices, "test", device, predictor=predictor)
    test_baselines, baseline_rows = evaluate_baselines(baselines, data.slices, "test")
    tested = {**test_metrics, **test_baselines, "best_epoch": float(result.best_epoch or 0)}
    metrics.update(tested)
    run.tracker.log_metrics_once(tested, step=result.epochs_done)
    per_subject = per_subject.merge(baseline_rows, on=["subject", "slices"])
    _log_outputs(run, run.loaded.experiment, data, generator, per_subject)


def _judge(run: TrackedRun, result, val_baselines: dict[str, float], metrics: dict[str, float]) -> None:
    """Put the selected checkpoint's validation metrics beside the validation baselines into `metrics` (the
    record's), and whether it beats the best trivial baseline on the selection metric (also an MLflow tag)."""
    from mrsynth.train.baselines import beats
    from mrsynth.train.summary import BEATEN

    select_by = run.loaded.experiment.eval.select_by
    selected = result.history[result.best_epoch - 1] if result.best_epoch else {}
    metrics.update({**{k: v for k, v in selected.items() if k.startswith("val/")}, **val_baselines})
    metric = select_by.removeprefix("val/")
    beaten = beats(selected.get(select_by), val_baselines.get(f"val/best_trivial_{metric}"), metric)
    run.tracker.set_tags({BEATEN: "unknown" if beaten is None else str(beaten).lower()})
    if beaten is not None:
        metrics[BEATEN] = float(beaten)


def _log_outputs(run: TrackedRun, exp, data: PreparedData, generator, per_subject: pd.DataFrame) -> None:
    from mrsynth.train.evaluate import write_volumes

    out = run.run_dir / "outputs"
    out.mkdir(parents=True, exist_ok=True)
    per_subject.to_csv(out / "test_per_subject.csv", index=False)
    run.tracker.log_artifact(out / "test_per_subject.csv", "eval")
    scale = _save_model(out / "model.pt", run, data, generator)
    run.tracker.log_artifact(out / "model.pt", "model")
    if exp.eval.save_predictions:
        volumes = write_volumes(exp, generator, data, "test", out / "test_predictions", scale)
        for path in volumes:
            run.tracker.log_artifact(path, "test_predictions")
    run.save_record(model_path=str(out / "model.pt"))


def _save_model(path: Path, run: TrackedRun, data: PreparedData, generator) -> tuple[float, float]:
    """The model file `mrsynth predict` reads; returns the intensity scale it writes on (the training targets')."""
    import torch

    from mrsynth.checkpoint import save_checkpoint
    from mrsynth.inference.volume import written_scale

    scales = {s: data.slices.facts["subjects"][s]["target_scale"] for s in data.slices.subjects("train")}
    scale = written_scale(scales.values())
    save_checkpoint(path, {"generator": {k: v.detach().cpu() for k, v in generator.state_dict().items()},
                           "resolved_spec": json_text(run.loaded.experiment.resolved()), "spec_hash": run.loaded.spec_hash,
                           "target_scales": scales, "target_scale": list(scale), "format": "mrsynth-model-1",
                           "torch": str(torch.__version__)})  # TorchVersion would not load with weights_only
    return scale
