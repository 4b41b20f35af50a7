"""A whole volume predicted by the spec's generator (2D slices or 3D patches), back on the target's intensity scale."""

from __future__ import annotations

import numpy as np
from torch import nn

from mrsynth.inference.patches import predict_volume_3d
from mrsynth.inference.slices import predict_volume_by_slices
from mrsynth.preprocess.normalise import BACKGROUND, denormalise


def predict_normalised(exp, generator: nn.Module, volume: np.ndarray) -> np.ndarray:
    """Normalised (RAS) volume → normalised prediction of the same shape, in eval mode, on the generator's device:
    a 3D-patch model by overlapping patches, a 2D model slice by slice along the spec's axis."""
    patches = exp.data.patches
    if patches is None:
        return predict_volume_by_slices(generator, volume, exp.data.slicing.axis, exp.model.generator.size_multiple)
    return predict_volume_3d(generator, volume, patches.size, patches.stride, device=next(generator.parameters()).device)


def predict_volume(exp, generator: nn.Module, volume: np.ndarray, scale: tuple[float, float],
                   brain: np.ndarray | None = None) -> np.ndarray:
    """Normalised source volume → float32 prediction on the target intensity `scale` (lo, hi); voxels outside
    `brain`, when given, get the background value."""
    pred = denormalise(predict_normalised(exp, generator, volume), scale)
    if brain is not None:
        pred[~np.asarray(brain, dtype=bool)] = denormalise(np.array([BACKGROUND]), scale)[0]
    return pred
