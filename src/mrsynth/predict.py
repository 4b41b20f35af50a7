"""`mrsynth predict`: a trained generator applied to a new volume, written as NIfTI on the input's grid."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mrsynth.errors import MrsynthError

MODEL_ARTIFACT = "model/model.pt"
MAX_NORMALISED = 10.0  # unclipped normalisation overshoots [-1, 1] by a few units; a raw scan reaches hundreds


def _finished_record(key: str) -> dict[str, Any] | None:
    from mrsynth.registry import find_records

    finished = [r for r in find_records(key) if r["status"] == "FINISHED"]
    return finished[-1] if finished else None


def resolve_model(model: str, tracking_uri: str | None = None, workdir: Path | None = None) -> tuple[Path, str]:
    """MODEL as a checkpoint path, a registry spec name or hash (latest finished run), or an MLflow run id;
    returns the model file and a line saying which one it is."""
    if Path(model).is_file():
        return Path(model), f"model file {model}"
    record = _finished_record(model)
    said = (f"run {record['run_id']} of spec {record['spec_name']} ({record['spec_hash'][:12]}), finished "
            f"{record.get('ended_at', '?')}" if record else f"MLflow run {model}")
    if record and record.get("model_path") and Path(record["model_path"]).is_file():
        return Path(record["model_path"]), said
    run_id = record["run_id"] if record else model
    from mrsynth.tracking import Tracker

    try:
        path = Tracker(tracking_uri or (record or {}).get("mlflow", {}).get("tracking_uri")).download(
            run_id, MODEL_ARTIFACT, workdir or Path(tempfile.mkdtemp(prefix="mrsynth-model-")))
    except Exception as exc:  # mlflow raises several types for "no such run/artifact"
        raise MrsynthError(f"predict: {model!r} is not a checkpoint file, a finished registry run or an MLflow run "
                           f"with {MODEL_ARTIFACT} ({type(exc).__name__})") from None
    return path, said


def load_model(path: Path):
    """(experiment, generator in eval mode, written intensity scale) from a model file; rebuilt from its resolved
    spec. Files written before `target_scale` was stored get the mean of every subject's scale they list."""
    from mrsynth.checkpoint import load_checkpoint
    from mrsynth.inference.volume import written_scale
    from mrsynth.spec.experiment import Experiment
    from mrsynth.train.build import build_networks

    saved = load_checkpoint(path)
    if saved.get("format") != "mrsynth-model-1":
        raise MrsynthError(f"{path}: not an mrsynth model file (expected format mrsynth-model-1)")
    exp = Experiment.model_validate(json.loads(saved["resolved_spec"]))
    generator = build_networks(exp).generator
    generator.load_state_dict(saved["generator"])
    generator.eval()
    scale = saved.get("target_scale") or written_scale(saved["target_scales"].values())
    return exp, generator, (float(scale[0]), float(scale[1]))


def input_preprocessing(preprocess, mask: Path | None, skull_strip: str | None):
    """The spec's preprocessing for a new input, and how its brain mask is found: `--mask` wins, then
    `--skull-strip`, then the spec's own method; a spec trained on provided masks falls back to deepbet."""
    from mrsynth.spec.preprocess import PreprocessSpec

    method = preprocess.skull_strip.kind
    if mask is not None:
        return preprocess, f"brain mask: {mask}"
    if skull_strip is None and method != "provided":
        return preprocess, f"brain mask: {method} (the spec's method)"
    chosen = skull_strip or "deepbet"
    if chosen == "provided":
        raise MrsynthError("predict: --skull-strip provided needs --mask")
    changed = PreprocessSpec.model_validate({**preprocess.model_dump(mode="json"), "skull_strip": {"kind": chosen}})
    why = " (the model was trained on provided masks; pass --mask to use yours)" if method == "provided" else ""
    return changed, f"brain mask: {chosen}{why}"


def preprocessed_input(source: Path, mask: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(array, brain, affine) in RAS of an input the spec's preprocessing already made (normalised to [-1, 1], e.g.
    a run's cached source): nothing is recomputed, so the prediction is the run's, voxel for voxel."""
    from mrsynth.preprocess.volumes import load_mask, load_volume

    if mask is None:
        raise MrsynthError("predict: --preprocessed needs --mask (the brain mask the input was normalised in)")
    volume = load_volume("input", source)
    brain = load_mask("input", mask, source)
    if not brain.any():
        raise MrsynthError(f"predict: the brain mask {mask} is empty")
    peak = float(np.abs(volume.array[brain]).max())
    if peak > MAX_NORMALISED:
        raise MrsynthError(f"predict: --preprocessed expects intensities normalised to [-1, 1] inside the mask; {source} "
                           f"reaches {peak:.4g} (a raw scan? leave out --preprocessed)")
    return volume.array, brain, volume.affine


def _model_input(exp, source: Path, mask: Path | None, skull_strip: str | None, preprocessed: bool, say):
    from mrsynth.preprocess.pipeline import prepare_single

    if preprocessed:
        if skull_strip is not None:
            raise MrsynthError("predict: --preprocessed takes the brain from --mask; leave out --skull-strip")
        say(f"input: already preprocessed; brain mask: {mask}")
        return preprocessed_input(source, mask)
    preprocess, how = input_preprocessing(exp.data.preprocess, mask, skull_strip)
    say(how)
    array, brain, affine, _ = prepare_single("input", source, mask, preprocess, role="source")
    return array, brain, affine


def predict_file(model: str, source: Path, output: Path, mask: Path | None = None, tracking_uri: str | None = None,
                 skull_strip: str | None = None, say=lambda line: None, preprocessed: bool = False) -> Path:
    """Predict `source` into `output` on the input's grid, on the model's written intensity scale, with the
    background value outside the input's brain mask."""
    import nibabel as nib

    from mrsynth.inference.volume import predict_volume, scale_description

    path, which = resolve_model(model, tracking_uri)
    exp, generator, scale = load_model(path)
    say(f"model: {which}; spec {exp.name} ({exp.spec_hash[:12]})")
    array, brain, affine = _model_input(exp, source, mask, skull_strip, preprocessed, say)
    say(f"written on the model's intensity scale [{scale[0]:.4g}, {scale[1]:.4g}]; background outside the brain mask")
    pred = predict_volume(exp, generator, array, scale, brain)
    original = nib.load(str(source))
    canonical = nib.Nifti1Image(pred, affine)
    back = nib.orientations.ornt_transform(nib.orientations.io_orientation(affine), nib.orientations.io_orientation(original.affine))
    image = canonical.as_reoriented(back)
    image.header["descrip"] = scale_description(exp.name, scale)
    output.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, output)
    return output
