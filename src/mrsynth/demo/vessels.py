"""Thin vessels near the GM/WM boundary: smooth random curves drawn a few millimetres wide."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from mrsynth.demo.grid import Grid


def _tangent_walk(start: np.ndarray, outward: np.ndarray, steps: int, step_mm: float, rng) -> np.ndarray:
    """A smooth curve from `start` that mostly runs parallel to the brain surface."""
    direction = rng.standard_normal(3)
    points = [start]
    for _ in range(steps):
        direction -= 0.8 * direction.dot(outward) * outward  # stay near the same cortical depth
        direction /= max(np.linalg.norm(direction), 1e-9)
        points.append(points[-1] + step_mm * direction)
        direction = direction + 0.25 * rng.standard_normal(3)
    return np.asarray(points)


def draw_vessels(
    boundary: np.ndarray, tissue: np.ndarray, grid: Grid, centre: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, list[list[list[float]]]]:
    """Mask of 6–10 vessels starting on `boundary` voxels and kept inside `tissue`; their polylines in mm."""
    mask = np.zeros(grid.shape, bool)
    candidates = np.flatnonzero(boundary)
    if candidates.size == 0:
        return mask, []
    step_mm = 0.5 * grid.voxel_mm
    polylines = []
    count = min(int(rng.integers(6, 11)), candidates.size)
    for flat in rng.choice(candidates, size=count, replace=False):
        start = grid.origin_mm + grid.voxel_mm * np.array(np.unravel_index(flat, grid.shape), float)
        outward = (start - centre) / max(np.linalg.norm(start - centre), 1e-9)
        steps = int(rng.uniform(24.0, 40.0) / step_mm)
        curve = _tangent_walk(start, outward, steps, step_mm, rng)
        index = np.rint(grid.index_of(curve.T)).astype(int)
        inside = np.all((index >= 0) & (index < np.asarray(grid.shape)[:, None]), axis=0)
        mask[tuple(index[:, inside])] = True
        polylines.append(np.round(curve[::4], 1).tolist())
    # a one-voxel cross around the centre line: about 2–4 mm wide, thin but resolvable at 7T
    return ndi.binary_dilation(mask) & tissue, polylines
