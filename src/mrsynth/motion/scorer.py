"""Score real volumes with a finished motion_qc run's model; scores are cached per (model, volume content)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mrsynth import registry
from mrsynth.cache import CacheStore, file_fingerprint, stage_key
from mrsynth.data.ingest import VolumeFile
from mrsynth.errors import DataError, MrsynthError
from mrsynth.motion.bins import ScoreBins
from mrsynth.motion.volumes import cached_input

STAGE = "motion_score"
VERSION = 1
MODEL_FORMAT = "mrsynth-motion-model-1"


@dataclass
class MotionModel:
    net: Any  # mrsynth.nn.sfcn.SFCN, in eval mode on CPU
    bins: ScoreBins
    shape: tuple[int, int, int]
    spec_hash: str

    def score(self, inputs: np.ndarray) -> np.ndarray:
        """Predicted scores (mm) of (N, *shape) normalised inputs."""
        import torch

        from mrsynth.motion.train import predict_scores

        return predict_scores(self.net, inputs[:, None], self.bins, torch.device("cpu"))


def load_motion_model(path: Path) -> MotionModel:
    from mrsynth.checkpoint import load_checkpoint
    from mrsynth.nn.sfcn import SFCN
    from mrsynth.spec.motion import MotionQCExperiment

    saved = load_checkpoint(Path(path))
    if saved.get("format") != MODEL_FORMAT:
        raise MrsynthError(f"{path}: not a motion model (format {saved.get('format')!r})")
    exp = MotionQCExperiment.model_validate(json.loads(saved["resolved_spec"]))
    net = SFCN(exp.model.widths, exp.model.bins, exp.model.dropout)
    net.load_state_dict(saved["sfcn"])
    low, high = saved["score_range"]
    return MotionModel(net.eval(), ScoreBins(low, high, exp.model.bins, exp.model.label_sigma), tuple(exp.data.shape),
                       saved["spec_hash"])


def find_motion_run(ref: str) -> dict[str, Any]:
    """The latest finished motion_qc run whose spec name is `ref` (or whose spec hash / run id starts with it)."""
    found = [r for r in registry.find_records(ref) if r["status"] == "FINISHED"
             and r["resolved_spec"].get("kind") == "motion_qc" and r.get("model_path") and Path(r["model_path"]).is_file()]
    if not found:
        raise DataError(f"data.qc.motion_model: no finished motion_qc run with a model matches {ref!r} in the registry "
                        "(train one: mrsynth run experiments/motion-qc.json)")
    return found[-1]


def score_files(files: dict[str, Path], model_ref: str, store: CacheStore) -> dict[str, float]:
    """Name -> predicted motion score of each file; each (model run, file content) is scored once."""
    record = find_motion_run(model_ref)
    model_id = {"spec_hash": record["spec_hash"], "run_id": record["run_id"]}
    model: MotionModel | None = None
    scores = {}
    for name, path in files.items():
        try:
            fingerprint = file_fingerprint(path)
        except OSError as exc:
            raise DataError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
        key = stage_key(STAGE, VERSION, {"model": model_id, "fingerprint": fingerprint})
        entry = store.get(STAGE, key)
        if entry is None:
            model = model or load_motion_model(Path(record["model_path"]))
            _, array, _ = cached_input(store, VolumeFile(name, Path(path)), model.shape, fingerprint)
            score = float(model.score(array[None])[0])
            entry = store.get_or_build(STAGE, key, lambda out, s=score: {"score": s}, {"volume": str(path), **model_id})
        scores[name] = float(entry.manifest["facts"]["score"])
    return scores


def prepared_volume_scores(data, model_ref: str) -> pd.DataFrame:
    """Per subject of a translation run's PreparedData: `source_motion_score`, `target_motion_score`."""
    files = {}
    for subject in sorted(data.preprocess_keys):
        raw = data.subject_volumes(subject).facts["files"]
        files.update({f"{subject}/{role}": Path(raw[role]) for role in ("source", "target")})
    scores = score_files(files, model_ref, data.store)
    rows = [{"subject": s, "source_motion_score": scores[f"{s}/source"], "target_motion_score": scores[f"{s}/target"]}
            for s in sorted(data.preprocess_keys)]
    return pd.DataFrame(rows, columns=["subject", "source_motion_score", "target_motion_score"])


def qc_motion_scores(data, qc) -> pd.DataFrame | None:
    """The per-subject motion scores a QC spec asks for (`qc.motion_model`), or None when it asks for none."""
    return prepared_volume_scores(data, qc.motion_model) if qc.motion_model is not None else None
