"""Evaluation: metrics per subject beside the trivial baselines, test volumes as NIfTI, sample grids.

Predictions come from mrsynth.inference; nothing here decides how a generator predicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn

from mrsynth.data.slices import SliceSet
from mrsynth.inference.background import SOURCE_MASK
from mrsynth.inference.split import stored_slices_predictor
from mrsynth.inference.volume import predict_volume, scale_description
from mrsynth.metrics import edge_correlation, evaluate_slices
from mrsynth.train.baselines import KINDS, TrivialBaselines, with_best_trivial
from mrsynth.train.batches import SliceArrays

if TYPE_CHECKING:
    from mrsynth.data.prepare import PreparedData

EVAL_MASK = 2  # the intersection of the source and target brain masks


def split_arrays(slices: SliceSet, split: str, rows: np.ndarray | None = None) -> SliceArrays:
    source, target, masks = slices.arrays(split)
    return SliceArrays(source, target, masks, np.arange(len(source)) if rows is None else rows)


def split_table(slices: SliceSet, split: str) -> pd.DataFrame:
    """The QC table's rows of `split`."""
    table = slices.table()
    return table[table["split"] == split]


def per_subject(arrays: SliceArrays, table: pd.DataFrame, score: Callable[..., dict[str, float]]) -> pd.DataFrame:
    """One row per subject of `table` (the split's rows of the QC table): `score(index, source, target, masks)`
    on that subject's stored slices."""
    rows = []
    for subject, group in table.groupby("subject", sort=True):
        index = group["row"].to_numpy()
        scores = score(index, np.asarray(arrays.source[index]), arrays.target[index], arrays.masks[index])
        rows.append({"subject": subject, "slices": len(index), **scores})
    return pd.DataFrame(rows)


def score_split(preds: np.ndarray, arrays: SliceArrays, table: pd.DataFrame) -> pd.DataFrame:
    """One row per subject of the model's metrics, inside the eval mask (`*_brain`) and on whole slices.

    `edge_corr_source` measures structure faithfulness (edges of the prediction against the source's);
    `target_edge_corr_source` is the same for the true target, the value a faithful translation reaches."""

    def score(index, source, target, masks):
        mask = masks[:, EVAL_MASK] > 0
        return {**evaluate_slices(preds[index], target, mask),
                "edge_corr_source": edge_correlation(preds[index], source, mask),
                "target_edge_corr_source": edge_correlation(target, source, mask)}

    return per_subject(arrays, table, score)


def score_baselines(baselines: TrivialBaselines, arrays: SliceArrays, table: pd.DataFrame) -> pd.DataFrame:
    """One row per subject of every trivial baseline's metrics (`<kind>_<metric>`), scored like the model."""

    def score(index, source, target, masks):
        mask, scores = masks[:, EVAL_MASK] > 0, {}
        for kind in KINDS:
            image = baselines.image(kind, source, masks[:, SOURCE_MASK])
            scores.update({f"{kind}_{k}": v for k, v in evaluate_slices(image, target, mask).items()})
        return scores

    return per_subject(arrays, table, score)


def summarise(per_subject: pd.DataFrame, prefix: str) -> dict[str, float]:
    """Mean over subjects of every metric column, named `<prefix>/<metric>`."""
    columns = [c for c in per_subject.columns if c not in ("subject", "slices")]
    return {f"{prefix}/{c}": float(per_subject[c].mean()) for c in columns}


def evaluate(generator: nn.Module, slices: SliceSet, split: str, device: torch.device, amp: bool = False,
             predictor=None) -> tuple[dict[str, float], pd.DataFrame, np.ndarray]:
    """Metrics of `split`; `predictor(generator, split)` gives the predictions (default: slice by slice)."""
    preds = (predictor or stored_slices_predictor(slices, device, amp))(generator, split)
    scores = score_split(preds, split_arrays(slices, split), split_table(slices, split))
    return summarise(scores, split), scores, preds


def evaluate_baselines(baselines: TrivialBaselines, slices: SliceSet, split: str) -> tuple[dict[str, float], pd.DataFrame]:
    """The trivial baselines' metrics on `split` (with `best_trivial_*`) and their rows per subject."""
    scores = score_baselines(baselines, split_arrays(slices, split), split_table(slices, split))
    return with_best_trivial(summarise(scores, split), split), scores


def write_volumes(exp, generator: nn.Module, data: PreparedData, split: str, out_dir: Path,
                  scale: tuple[float, float]) -> list[Path]:
    """One NIfTI per subject of `split`: its whole cached source volume predicted (every slice, not only
    the stored ones) in the target's space, on the intensity `scale` the model writes (`mrsynth predict`'s),
    with the background value outside the source brain mask."""
    import nibabel as nib

    table = data.slices.table()
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for subject in sorted(table.loc[table["split"] == split, "subject"].unique()):
        info = data.slices.facts["subjects"][subject]
        volumes = data.subject_volumes(subject)
        source = np.asarray(volumes.array("source"), dtype=np.float32)
        volume = predict_volume(exp, generator, source, scale, volumes.array("source_mask"))
        image = nib.Nifti1Image(volume, np.asarray(info["affine"]))
        image.header["descrip"] = scale_description(exp.name, scale)
        path = out_dir / f"sub-{subject}_pred.nii.gz"
        nib.save(image, path)
        written.append(path)
    return written


def sample_grid(preds: np.ndarray, arrays: SliceArrays, path: Path, count: int = 4, title: str = "") -> Path:
    """PNG rows of source | prediction | target | |error| for evenly spaced slices."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picks = np.linspace(0, len(preds) - 1, num=min(count, len(preds))).round().astype(int)
    fig, axes = plt.subplots(len(picks), 4, figsize=(8, 2 * len(picks)), squeeze=False)
    for row, i in enumerate(picks):
        target = arrays.target[arrays.rows[i]]
        panels = (arrays.source[arrays.rows[i]], preds[i], target, np.abs(preds[i] - target))
        for col, (image, name) in enumerate(zip(panels, ("source", "prediction", "target", "|error|"), strict=True)):
            ax = axes[row, col]
            ax.imshow(np.rot90(image), cmap="magma" if col == 3 else "gray", vmin=0 if col == 3 else -1, vmax=1)
            ax.set_axis_off()
            if row == 0:
                ax.set_title(name, fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
