"""A split's stored slices predicted the way the spec's generator works: slice by slice, or by 3D patches."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from mrsynth.inference.patches import predict_split_by_patches
from mrsynth.inference.slices import predict_slices

if TYPE_CHECKING:
    from mrsynth.data.prepare import PreparedData
    from mrsynth.spec.experiment import Experiment

Predictor = Callable[[nn.Module, str], np.ndarray]


def split_predictor(exp: Experiment, data: PreparedData, device: torch.device) -> Predictor:
    """(generator, split) → predictions aligned with that split's stored slices, (n, h, w) float32."""
    amp = exp.train.amp
    if exp.data.patches is not None:
        size, stride = exp.data.patches.size, exp.data.patches.stride
        return lambda generator, split: predict_split_by_patches(generator, data, split, device, size, stride, amp=amp)
    return lambda generator, split: predict_slices(generator, data.slices.arrays(split)[0], device, amp=amp)
