"""3D generators: a whole volume from overlapping patches, and a split's stored slices cut from those volumes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from mrsynth.data.slices import crop_or_pad
from mrsynth.errors import DataError
from mrsynth.nn.init import eval_mode
from mrsynth.nn.patches import predict_volume_by_patches
from mrsynth.preprocess.normalise import BACKGROUND
from mrsynth.qc.stack import as_slice_stack

if TYPE_CHECKING:
    from mrsynth.data.prepare import PreparedData


def predict_volume_3d(generator: nn.Module, volume: np.ndarray, size: Sequence[int], stride: int,
                      device: str | torch.device = "cpu", amp: bool = False, batch: int = 4) -> np.ndarray:
    """Normalised (X, Y, Z) volume → prediction of the same shape from overlapping patches, overlaps averaged.

    A volume smaller than a patch along an axis is padded with background for the prediction and cut back."""
    device = torch.device(device)
    size = tuple(int(s) for s in size)
    shape = np.shape(volume)
    padding = [(0, max(p - n, 0)) for p, n in zip(size, shape, strict=True)]
    padded = np.pad(np.asarray(volume, dtype=np.float32), padding, constant_values=BACKGROUND)

    def run(patches: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device.type, enabled=amp and device.type == "cuda"):
            return generator(patches)

    with eval_mode(generator):
        pred = predict_volume_by_patches(run, padded[None], size, stride, batch, device)[0]
    return pred[tuple(slice(0, n) for n in shape)]


def predict_split_by_patches(generator: nn.Module, data: PreparedData, split: str, device: str | torch.device,
                             size: Sequence[int], stride: int, amp: bool = False, batch: int = 4) -> np.ndarray:
    """(n_rows, h, w) float32 predictions aligned with `data.slices.arrays(split)`: each subject's whole
    source volume predicted by patches, then sliced, cropped and padded exactly as the slice stage stored it."""
    facts = data.slices.facts
    out = np.full(data.slices.arrays(split)[0].shape, BACKGROUND, dtype=np.float32)
    table = data.slices.table()
    table = table[table["split"] == split].sort_values("row")
    for subject, group in table.groupby("subject", sort=True):
        volume = data.subject_volumes(subject).array("source")
        pred = predict_volume_3d(generator, volume, size, stride, device, amp, batch)
        out[group["row"].to_numpy()] = _stored_slices(pred, group["slice"].to_numpy(), facts, subject)
    return out


def _stored_slices(volume: np.ndarray, slice_index: np.ndarray, facts: dict, subject: str) -> np.ndarray:
    """The slices of a volume exactly as the slice stage stored them: same axis, same crop or pad, same fill."""
    stack = as_slice_stack(volume, facts["axis"])[slice_index]
    slices, offsets = crop_or_pad(stack, tuple(facts["size"]), BACKGROUND)
    if offsets != list(facts["subjects"][subject]["crop_offsets"]):
        raise DataError(f"cached crop offsets {facts['subjects'][subject]['crop_offsets']} differ from {offsets}",
                        subject=subject)
    return slices
