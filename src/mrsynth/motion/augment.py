"""The study's other random transforms: sagittal flip, isotropic scaling, elastic deformation, bias field, gamma.

Each draw returns plain parameters (JSON-able) and `apply_augment` applies them, so a sample is
reproducible from its seed and its parameters can be recorded. Spatial transforms share one resampling;
a draw with no spatial change does not resample (the volume passes through unchanged).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from mrsynth.spec.motion import AugmentSpec


def draw_augment(spec: AugmentSpec, rng: np.random.Generator) -> dict[str, Any]:
    """Random parameters of one sample's augmentation."""
    params: dict[str, Any] = {"flip": bool(rng.random() < spec.flip_probability)}
    params["scale"] = float(rng.uniform(1 - spec.scale_range, 1 + spec.scale_range)) if spec.scale_range > 0 else 1.0
    nodes = spec.elastic_control_points
    elastic = rng.random() < spec.elastic_probability and spec.elastic_max_mm > 0
    params["elastic"] = rng.uniform(-1, 1, (3, nodes, nodes, nodes)).round(4).tolist() if elastic else None
    params["bias"] = _bias_coefficients(spec, rng) if rng.random() < spec.bias_probability else None
    params["log_gamma"] = float(rng.uniform(-spec.gamma_log_range, spec.gamma_log_range)) if rng.random() < spec.gamma_probability else 0.0
    return params


def _bias_coefficients(spec: AugmentSpec, rng: np.random.Generator) -> list[float]:
    count = len(_bias_exponents(spec.bias_order))
    return rng.uniform(-spec.bias_coefficient, spec.bias_coefficient, count).round(4).tolist()


def _bias_exponents(order: int) -> list[tuple[int, int, int]]:
    return [(i, j, k) for i in range(order + 1) for j in range(order + 1 - i) for k in range(order + 1 - i - j)]


def _normalised_axes(shape: tuple[int, int, int]) -> list[np.ndarray]:
    """Coordinates in [-1, 1] along each axis, shaped to broadcast to the grid."""
    axes = []
    for axis, n in enumerate(shape):
        view = [1, 1, 1]
        view[axis] = n
        axes.append(np.linspace(-1.0, 1.0, n).reshape(view))
    return axes


def bias_field(shape: tuple[int, int, int], coefficients: list[float], order: int) -> np.ndarray:
    """exp of a polynomial of degree ≤ order in the normalised coordinates (a smooth receive-coil shading)."""
    x, y, z = _normalised_axes(shape)
    log_field = sum(c * x**i * y**j * z**k for c, (i, j, k) in zip(coefficients, _bias_exponents(order), strict=True))
    return np.exp(log_field + np.zeros(shape))


def _elastic_displacement(nodes: np.ndarray, shape: tuple[int, int, int], max_mm: float, voxel_mm: np.ndarray) -> np.ndarray:
    """(3, *shape) smooth displacement in voxels from control-point values in [-1, 1]."""
    zoom = [n / m for n, m in zip(shape, nodes.shape[1:], strict=True)]
    field = np.stack([ndi.zoom(component, zoom, order=3, mode="nearest", grid_mode=True) for component in nodes])
    return field * (max_mm / voxel_mm)[:, None, None, None]


def _spatial(volume: np.ndarray, params: dict[str, Any], spec: AugmentSpec, voxel_mm: np.ndarray) -> np.ndarray:
    if params["flip"]:
        volume = volume[::-1]  # RAS axis 0: a left-right (sagittal) mirror
    if params["scale"] == 1.0 and params["elastic"] is None:
        return np.ascontiguousarray(volume)
    shape = volume.shape
    centre = (np.asarray(shape, dtype=float) - 1) / 2
    grid = np.indices(shape, dtype=np.float64)
    coords = centre[:, None, None, None] + (grid - centre[:, None, None, None]) / params["scale"]
    if params["elastic"] is not None:
        coords += _elastic_displacement(np.asarray(params["elastic"]), shape, spec.elastic_max_mm, voxel_mm)
    return ndi.map_coordinates(volume, coords, order=1, mode="constant", cval=0.0)


def apply_augment(volume: np.ndarray, params: dict[str, Any], spec: AugmentSpec, voxel_mm) -> np.ndarray:
    """The volume after the drawn flip/scale/elastic, bias field and gamma (non-negative in, non-negative out)."""
    out = _spatial(volume.astype(np.float64), params, spec, np.asarray(voxel_mm, dtype=float))
    if params["bias"] is not None:
        out = out * bias_field(out.shape, params["bias"], spec.bias_order)
    if params["log_gamma"]:
        peak = max(float(out.max()), 1e-12)
        out = peak * np.clip(out / peak, 0.0, None) ** math.exp(params["log_gamma"])
    return out
