"""`mrsynth predict`: a trained generator applied to a new volume, written as NIfTI on the input's grid."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mrsynth.errors import MrsynthError

MODEL_ARTIFACT = "model/model.pt"


def _finished_record(key: str) -> dict[str, Any] | None:
    from mrsynth.registry import find_records

    finished = [r for r in find_records(key) if r["status"] == "FINISHED"]
    return finished[-1] if finished else None


def resolve_model(model: str, tracking_uri: str | None = None, workdir: Path | None = None) -> Path:
    """MODEL as a checkpoint path, a registry spec name or hash (latest finished run), or an MLflow run id."""
    if Path(model).is_file():
        return Path(model)
    record = _finished_record(model)
    if record and record.get("model_path") and Path(record["model_path"]).is_file():
        return Path(record["model_path"])
    run_id = record["run_id"] if record else model
    from mrsynth.tracking import Tracker

    try:
        return Tracker(tracking_uri or (record or {}).get("mlflow", {}).get("tracking_uri")).download(
            run_id, MODEL_ARTIFACT, workdir or Path(tempfile.mkdtemp(prefix="mrsynth-model-")))
    except Exception as exc:  # mlflow raises several types for "no such run/artifact"
        raise MrsynthError(f"predict: {model!r} is not a checkpoint file, a finished registry run or an MLflow run "
                           f"with {MODEL_ARTIFACT} ({type(exc).__name__})") from None


def load_model(path: Path):
    """(experiment, generator in eval mode, target scale) from a model file; rebuilt from its resolved spec."""
    from mrsynth.checkpoint import load_checkpoint
    from mrsynth.spec.experiment import Experiment
    from mrsynth.train.build import build_networks

    saved = load_checkpoint(path)
    if saved.get("format") != "mrsynth-model-1":
        raise MrsynthError(f"{path}: not an mrsynth model file (expected format mrsynth-model-1)")
    exp = Experiment.model_validate(json.loads(saved["resolved_spec"]))
    generator = build_networks(exp).generator
    generator.load_state_dict(saved["generator"])
    generator.eval()
    scales = np.asarray(list(saved["target_scales"].values()), dtype=np.float64)
    return exp, generator, (float(scales[:, 0].mean()), float(scales[:, 1].mean()))


def predict_file(model: str, source: Path, output: Path, mask: Path | None = None, tracking_uri: str | None = None) -> Path:
    import nibabel as nib

    from mrsynth.inference.volume import predict_volume
    from mrsynth.preprocess.pipeline import prepare_single

    exp, generator, scale = load_model(resolve_model(model, tracking_uri))
    preprocess = exp.data.preprocess
    if preprocess.skull_strip.kind == "provided" and mask is None:
        raise MrsynthError(f"predict: the model's spec ({exp.name}) uses provided brain masks: pass --mask")
    array, brain, affine, _ = prepare_single("input", source, mask, preprocess, role="source")
    pred = predict_volume(exp, generator, array, scale, brain)
    original = nib.load(str(source))
    canonical = nib.Nifti1Image(pred, affine)
    back = nib.orientations.ornt_transform(nib.orientations.io_orientation(affine), nib.orientations.io_orientation(original.affine))
    image = canonical.as_reoriented(back)
    image.header["descrip"] = f"mrsynth {exp.name} target scale [{scale[0]:.4g},{scale[1]:.4g}]"[:79].encode()
    output.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, output)
    return output
