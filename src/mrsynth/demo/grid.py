"""Voxel grids of the demo: a RAS grid centred on the world origin, and its supersampled anatomy grid."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

DEFAULT_SHAPE: tuple[int, int, int] = (64, 64, 48)
FIELD_OF_VIEW_MM = (224.0, 224.0, 168.0)
# Anatomy is drawn at about this resolution, then averaged into image voxels (partial volume).
ANATOMY_VOXEL_MM = 1.75
MAX_ANATOMY_VOXELS = 1_600_000  # keeps one subject around a second whatever the image shape


@dataclass(frozen=True)
class Grid:
    """An axis-aligned RAS voxel grid with isotropic voxels whose centre is the world origin."""

    shape: tuple[int, int, int]
    voxel_mm: float

    @property
    def origin_mm(self) -> np.ndarray:
        """World position of voxel (0, 0, 0)."""
        return -self.voxel_mm * (np.asarray(self.shape, dtype=float) - 1) / 2

    @property
    def affine(self) -> np.ndarray:
        affine = np.diag([self.voxel_mm, self.voxel_mm, self.voxel_mm, 1.0])
        affine[:3, 3] = self.origin_mm
        return affine

    def axes_mm(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World coordinates along each axis, shaped to broadcast to the full grid."""
        axes = [self.origin_mm[i] + self.voxel_mm * np.arange(n) for i, n in enumerate(self.shape)]
        return axes[0][:, None, None], axes[1][None, :, None], axes[2][None, None, :]

    def index_of(self, points_mm: np.ndarray) -> np.ndarray:
        """Continuous voxel indices (3, N) of world points (3, N)."""
        return (points_mm - self.origin_mm[:, None]) / self.voxel_mm

    def supersampled(self, factor: int) -> Grid:
        """The grid whose blocks of factor³ voxels tile this grid's voxels exactly."""
        return Grid(tuple(n * factor for n in self.shape), self.voxel_mm / factor)


def grid_for_shape(shape: tuple[int, int, int]) -> Grid:
    """The image grid of a given shape whose field of view holds a whole head."""
    voxel = max(fov / n for fov, n in zip(FIELD_OF_VIEW_MM, shape, strict=True))
    return Grid(tuple(int(n) for n in shape), round(voxel, 4))


def supersampling_factor(grid: Grid) -> int:
    """Anatomy voxels per image voxel along each axis: fine enough for a cortical ribbon, bounded in memory."""
    wanted = math.ceil(grid.voxel_mm / ANATOMY_VOXEL_MM - 1e-6)
    affordable = math.floor((MAX_ANATOMY_VOXELS / math.prod(grid.shape)) ** (1 / 3) + 1e-9)
    return max(1, min(wanted, affordable))


def block_mean(volume: np.ndarray, factor: int) -> np.ndarray:
    """Average non-overlapping factor³ blocks (e.g. a fine field down to image voxels)."""
    if factor == 1:
        return volume.astype(np.float32)
    n0, n1, n2 = (n // factor for n in volume.shape)
    blocks = volume.reshape(n0, factor, n1 * factor * n2 * factor).sum(axis=1, dtype=np.float32)
    blocks = blocks.reshape(n0, n1, factor, n2 * factor).sum(axis=2)
    blocks = blocks.reshape(n0, n1, n2, factor).sum(axis=3)
    return blocks / np.float32(factor**3)


@functools.lru_cache(maxsize=4)
def _block_index(shape: tuple[int, int, int], factor: int) -> np.ndarray:
    """Flat index of the coarse voxel holding each fine voxel."""
    n0, n1, n2 = shape
    i0, i1, i2 = (np.repeat(np.arange(n), factor) for n in shape)
    return ((i0[:, None, None] * n1 + i1[None, :, None]) * n2 + i2[None, None, :]).ravel()


def label_fractions(labels: np.ndarray, n_labels: int, factor: int) -> np.ndarray:
    """(n_labels, …) fraction of each label in every coarse voxel of a fine label map."""
    shape = tuple(n // factor for n in labels.shape)
    key = _block_index(shape, factor) * n_labels + labels.ravel()
    counts = np.bincount(key, minlength=int(np.prod(shape)) * n_labels).reshape(*shape, n_labels)
    return np.moveaxis(counts, -1, 0).astype(np.float32) / np.float32(factor**3)


def mapped_indices(source: Grid, matrix: np.ndarray, target: Grid) -> np.ndarray:
    """(3, *source.shape) continuous indices into `target` of every `source` voxel centre moved by `matrix`."""
    axes = source.axes_mm()
    out = np.empty((3, *source.shape), np.float32)
    for row in range(3):
        moved = sum(matrix[row, col] * axes[col] for col in range(3)) + matrix[row, 3]
        out[row] = (moved - target.origin_mm[row]) / target.voxel_mm
    return out


def _interpolation_weights(n_out: int, n_nodes: int) -> np.ndarray:
    """(n_out, n_nodes) normalised Gaussian weights spreading evenly spaced nodes over n_out samples."""
    positions = (np.arange(n_out) + 0.5) / n_out * (n_nodes - 1)
    weights = np.exp(-0.5 * (positions[:, None] - np.arange(n_nodes)[None, :]) ** 2)
    return weights / weights.sum(axis=1, keepdims=True)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int, int], cell: float) -> np.ndarray:
    """Zero-mean, unit-std smooth random field on `shape` that varies over about `cell` voxels."""
    nodes = rng.standard_normal(tuple(max(2, math.ceil(n / cell) + 1) for n in shape))
    w0, w1, w2 = (_interpolation_weights(n, m) for n, m in zip(shape, nodes.shape, strict=True))
    field = np.einsum("ai,ijk->ajk", w0, nodes)
    field = np.einsum("bj,ajk->abk", w1, field)
    field = (field.astype(np.float32) @ w2.T.astype(np.float32)).astype(np.float32)
    return (field - field.mean()) / max(float(field.std()), 1e-6)
