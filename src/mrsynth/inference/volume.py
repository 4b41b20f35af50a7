"""A whole volume predicted by the spec's generator (2D slices or 3D patches), back on the written intensity scale."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from torch import nn

from mrsynth.inference.background import in_brain
from mrsynth.inference.patches import predict_volume_3d
from mrsynth.inference.slices import predict_volume_by_slices
from mrsynth.preprocess.normalise import denormalise


def predict_normalised(exp, generator: nn.Module, volume: np.ndarray) -> np.ndarray:
    """Normalised (RAS) volume → normalised prediction of the same shape, in eval mode, on the generator's device:
    a 3D-patch model by overlapping patches, a 2D model slice by slice along the spec's axis."""
    patches = exp.data.patches
    if patches is None:
        return predict_volume_by_slices(generator, volume, exp.data.slicing.axis, exp.model.generator.size_multiple)
    return predict_volume_3d(generator, volume, patches.size, patches.stride, device=next(generator.parameters()).device)


def written_scale(target_scales: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """The one intensity scale predictions are written on: the mean (p_low, p_high) of the training subjects'
    targets. A new input's own target scale is unknowable; metrics, computed in [-1, 1], never depend on it."""
    scales = np.asarray(list(target_scales), dtype=np.float64).reshape(-1, 2)
    return float(scales[:, 0].mean()), float(scales[:, 1].mean())


def predict_volume(exp, generator: nn.Module, volume: np.ndarray, scale: tuple[float, float],
                   brain: np.ndarray) -> np.ndarray:
    """Normalised source volume → float32 prediction on the intensity `scale` (lo, hi); voxels outside `brain`
    get the background value (-1 normalised, so `lo` on that scale)."""
    return denormalise(in_brain(predict_normalised(exp, generator, volume), brain), scale)


def scale_description(name: str, scale: tuple[float, float]) -> bytes:
    """The NIfTI `descrip` of a written prediction (the header holds 79 bytes)."""
    return f"mrsynth {name} target scale [{scale[0]:.4g},{scale[1]:.4g}]"[:79].encode()
