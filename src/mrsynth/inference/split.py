"""A split's stored slices predicted the way the spec's generator works: slice by slice, or by 3D patches."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from mrsynth.inference.background import SOURCE_MASK, in_brain
from mrsynth.inference.patches import predict_split_by_patches
from mrsynth.inference.slices import predict_slices

if TYPE_CHECKING:
    from mrsynth.data.prepare import PreparedData
    from mrsynth.data.slices import SliceSet
    from mrsynth.spec.experiment import Experiment

Predictor = Callable[[nn.Module, str], np.ndarray]


def stored_slices_predictor(slices: SliceSet, device: torch.device, amp: bool = False) -> Predictor:
    """(generator, split) → a 2D generator's predictions of that split's stored slices, (n, h, w) float32,
    with the background value outside each slice's source brain mask."""

    def predict(generator: nn.Module, split: str) -> np.ndarray:
        source, _, masks = slices.arrays(split)
        return in_brain(predict_slices(generator, source, device, amp=amp), masks[:, SOURCE_MASK])

    return predict


def split_predictor(exp: Experiment, data: PreparedData, device: torch.device) -> Predictor:
    """(generator, split) → predictions aligned with that split's stored slices, (n, h, w) float32, with the
    background value outside each slice's source brain mask."""
    amp = exp.train.amp
    if exp.data.patches is None:
        return stored_slices_predictor(data.slices, device, amp)
    size, stride = exp.data.patches.size, exp.data.patches.stride

    def predict(generator: nn.Module, split: str) -> np.ndarray:
        preds = predict_split_by_patches(generator, data, split, device, size, stride, amp=amp)
        return in_brain(preds, data.slices.arrays(split)[2][:, SOURCE_MASK])

    return predict
