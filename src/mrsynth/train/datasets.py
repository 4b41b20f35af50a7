"""What a run trains on and how it predicts a split, chosen from the spec: paired slices, unpaired slices or 3D patches."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from mrsynth.data.prepare import PreparedData
from mrsynth.spec.experiment import Experiment
from mrsynth.train.batches import SliceArrays, UnpairedSlices, left_right_dim

Predictor = Callable[[nn.Module, str], np.ndarray]


def training_set(exp: Experiment, data: PreparedData, rows: np.ndarray):
    """The training set over the QC-kept training `rows`, with `len()` and `epoch_batches(...)`."""
    if exp.data.patches is not None:
        from mrsynth.train.patches3d import PatchTrainingSet

        return PatchTrainingSet.from_prepared(data, rows, exp.data.patches, exp.data.slicing.axis)
    source, target, masks = data.slices.arrays("train")
    arrays = SliceArrays(source, target, masks, rows, left_right_dim(exp.data.slicing.axis)).in_memory()
    if exp.data.dataset.paired:
        return arrays
    table = data.slices.table()
    subject_of_row = table[table["split"] == "train"].set_index("row")["subject"]
    return UnpairedSlices(arrays, subject_of_row.loc[np.sort(rows)].to_numpy())


def split_predictor(exp: Experiment, data: PreparedData, device: torch.device) -> Predictor:
    """(generator, split) → predictions aligned with that split's stored slices, (n, h, w) float32."""
    amp = exp.train.amp
    if exp.data.patches is not None:
        from mrsynth.train.patches3d import predict_split_by_patches

        size, stride = exp.data.patches.size, exp.data.patches.stride
        return lambda generator, split: predict_split_by_patches(generator, data, split, device, size, stride, amp=amp)
    from mrsynth.train.evaluate import predict, split_arrays

    return lambda generator, split: predict(generator, split_arrays(data.slices, split), device, amp=amp)
