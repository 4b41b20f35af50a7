"""Evaluation: metrics per subject beside the identity baseline, test volumes as NIfTI, sample grids.

Predictions come from mrsynth.inference; nothing here decides how a generator predicts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn

from mrsynth.data.slices import SliceSet
from mrsynth.inference.split import stored_slices_predictor
from mrsynth.inference.volume import predict_volume, scale_description
from mrsynth.metrics import edge_correlation, evaluate_slices
from mrsynth.train.batches import SliceArrays

if TYPE_CHECKING:
    from mrsynth.data.prepare import PreparedData

EVAL_MASK = 2  # the intersection of the source and target brain masks


def split_arrays(slices: SliceSet, split: str, rows: np.ndarray | None = None) -> SliceArrays:
    source, target, masks = slices.arrays(split)
    return SliceArrays(source, target, masks, np.arange(len(source)) if rows is None else rows)


def score_split(preds: np.ndarray, arrays: SliceArrays, table: pd.DataFrame) -> pd.DataFrame:
    """One row per subject (and its identity baseline); `table` holds the split's rows of the QC table.

    `edge_corr_source` measures structure faithfulness (edges of the prediction against the source's);
    `target_edge_corr_source` is the same for the true target, the value a faithful translation reaches."""
    rows = []
    for subject, group in table.groupby("subject", sort=True):
        index = group["row"].to_numpy()
        source, target, mask = np.asarray(arrays.source[index]), arrays.target[index], arrays.masks[index, EVAL_MASK] > 0
        model = evaluate_slices(preds[index], target, mask)
        identity = evaluate_slices(source, target, mask)
        edges = {"edge_corr_source": edge_correlation(preds[index], source, mask),
                 "target_edge_corr_source": edge_correlation(target, source, mask)}
        rows.append({"subject": subject, "slices": len(index), **model, **{f"identity_{k}": v for k, v in identity.items()},
                     **edges})
    return pd.DataFrame(rows)


def summarise(per_subject: pd.DataFrame, prefix: str) -> dict[str, float]:
    """Mean over subjects of every metric column, named `<prefix>/<metric>`."""
    columns = [c for c in per_subject.columns if c not in ("subject", "slices")]
    return {f"{prefix}/{c}": float(per_subject[c].mean()) for c in columns}


def evaluate(generator: nn.Module, slices: SliceSet, split: str, device: torch.device, amp: bool = False,
             predictor=None) -> tuple[dict[str, float], pd.DataFrame, np.ndarray]:
    """Metrics of `split`; `predictor(generator, split)` gives the predictions (default: slice by slice)."""
    arrays = split_arrays(slices, split)
    table = slices.table()
    table = table[table["split"] == split]
    preds = (predictor or stored_slices_predictor(slices, device, amp))(generator, split)
    per_subject = score_split(preds, arrays, table)
    return summarise(per_subject, split), per_subject, preds


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
