"""Conversions between (array, RAS affine) pairs and ANTs images / transforms; ITK works in LPS."""

from __future__ import annotations

import numpy as np

from mrsynth.preprocess.threads import load_ants

# Flips x and y: RAS+ (nibabel) world coordinates <-> LPS+ (ITK) world coordinates.
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


def to_ants(array: np.ndarray, affine: np.ndarray):
    """An ANTs float image with the world geometry of a RAS affine (spacing, origin, direction in LPS)."""
    ants = load_ants()

    linear = np.asarray(affine, dtype=np.float64)[:3, :3]
    spacing = np.linalg.norm(linear, axis=0)
    direction = RAS_TO_LPS @ (linear / spacing)
    origin = RAS_TO_LPS @ np.asarray(affine, dtype=np.float64)[:3, 3]
    return ants.from_numpy(
        np.ascontiguousarray(array, dtype=np.float32),
        origin=tuple(origin.tolist()),
        spacing=tuple(spacing.tolist()),
        direction=direction,
    )


def from_ants(image) -> tuple[np.ndarray, np.ndarray]:
    """The voxel array and RAS affine of an ANTs image."""
    direction = RAS_TO_LPS @ np.asarray(image.direction, dtype=np.float64)
    affine = np.eye(4)
    affine[:3, :3] = direction * np.asarray(image.spacing, dtype=np.float64)
    affine[:3, 3] = RAS_TO_LPS @ np.asarray(image.origin, dtype=np.float64)
    return image.numpy(), affine


def itk_affine_to_ras(parameters, fixed_parameters) -> np.ndarray:
    """4x4 RAS matrix of an ITK affine transform, which maps fixed-space points to moving-space points."""
    values = np.asarray(parameters, dtype=np.float64)
    matrix = values[:9].reshape(3, 3)
    translation = values[9:12]
    center = np.asarray(fixed_parameters, dtype=np.float64)[:3]
    lps = np.eye(4)
    lps[:3, :3] = matrix
    lps[:3, 3] = translation + center - matrix @ center
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    return flip @ lps @ flip
