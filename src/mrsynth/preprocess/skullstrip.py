"""Brain masks: one function per skull-strip method, chosen by the spec's `kind` in one table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import ndimage

from mrsynth.errors import DataError
from mrsynth.preprocess.ants_images import to_ants
from mrsynth.preprocess.deepbet_strip import deepbet_mask
from mrsynth.preprocess.threads import load_ants
from mrsynth.preprocess.volumes import Volume, load_mask
from mrsynth.spec.preprocess import (
    AntsMask,
    DeepbetSkullStrip,
    NoSkullStrip,
    ProvidedMasks,
    SkullStrip,
    ThresholdSkullStrip,
)


def brain_mask(subject: str, volume: Volume, spec: SkullStrip, mask_path: Path | None) -> np.ndarray:
    """The brain mask of `volume` (bool, same grid) by the method `spec` names; never empty."""
    method = SKULL_STRIP_METHODS[type(spec)]
    mask = method(subject, volume, spec, mask_path)
    if not mask.any():
        raise DataError(f"brain mask is empty after skull strip ({spec.kind})", subject=subject,
                        path=str(mask_path if isinstance(spec, ProvidedMasks) else volume.path))
    return mask


def positive_voxels(subject: str, volume: Volume, spec: NoSkullStrip, mask_path: Path | None) -> np.ndarray:
    """Every voxel above zero: the brain of an already skull-stripped volume."""
    return volume.array > 0


def provided_mask(subject: str, volume: Volume, spec: ProvidedMasks, mask_path: Path | None) -> np.ndarray:
    """The dataset's own mask, which must share the image's grid."""
    if mask_path is None:
        raise DataError("skull_strip kind 'provided' needs a mask file for this image, none was given",
                        subject=subject, path=str(volume.path))
    return load_mask(subject, mask_path, volume.path)


def threshold_mask(subject: str, volume: Volume, spec: ThresholdSkullStrip, mask_path: Path | None) -> np.ndarray:
    """Otsu foreground, opened to cut thin links, largest component, closed, holes filled."""
    from skimage.filters import threshold_otsu

    smoothed = ndimage.gaussian_filter(volume.array, spec.smoothing_sigma) if spec.smoothing_sigma else volume.array
    foreground = smoothed > threshold_otsu(smoothed)
    if spec.opening_radius:
        foreground = ndimage.binary_opening(foreground, structure=ball(spec.opening_radius))
    brain = largest_component(foreground)
    if spec.closing_radius:
        brain = padded_closing(brain, spec.closing_radius)
    return ndimage.binary_fill_holes(brain)


def ants_get_mask(subject: str, volume: Volume, spec: AntsMask, mask_path: Path | None) -> np.ndarray:
    """ANTs `get_mask` (mean threshold plus morphological clean-up)."""
    ants = load_ants()
    return ants.get_mask(to_ants(volume.array, volume.affine), cleanup=spec.cleanup).numpy() > 0


SKULL_STRIP_METHODS: dict[type, Callable[..., np.ndarray]] = {
    NoSkullStrip: positive_voxels,
    ProvidedMasks: provided_mask,
    ThresholdSkullStrip: threshold_mask,
    AntsMask: ants_get_mask,
    DeepbetSkullStrip: deepbet_mask,
}


def ball(radius: int) -> np.ndarray:
    """A solid ball structuring element of `radius` voxels."""
    grid = np.indices((2 * radius + 1,) * 3) - radius
    return (grid**2).sum(axis=0) <= radius**2


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 6-connected component of a binary mask (empty stays empty)."""
    labels, count = ndimage.label(mask)
    if count <= 1:
        return labels > 0
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(sizes.argmax())


def padded_closing(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary closing that does not erode objects touching the volume border."""
    padded = np.pad(mask, radius + 1)
    closed = ndimage.binary_closing(padded, structure=ball(radius))
    inner = tuple(slice(radius + 1, -(radius + 1)) for _ in range(3))
    return closed[inner]
