"""Patch sampling for training on volumes, and overlapping-patch reconstruction for predicting whole volumes.

Patches are cubes (or squares) on the trailing spatial axes of a numpy array; any leading axes
(e.g. channels) travel with them. A corner is the patch's lowest index on every spatial axis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from mrsynth.errors import DataError

Size = int | Sequence[int]


def _patch_shape(size: Size, ndim: int) -> tuple[int, ...]:
    """`size` as one positive side per spatial axis."""
    shape = (int(size),) * ndim if isinstance(size, int | np.integer) else tuple(int(s) for s in size)
    if len(shape) != ndim or min(shape) < 1:
        raise ValueError(f"patch size must be a positive int or {ndim} positive sides; got {size!r}")
    return shape


def _check_fits(shape: Sequence[int], patch: Sequence[int]) -> None:
    if any(p > s for p, s in zip(patch, shape, strict=True)):
        raise DataError(f"volume of shape {tuple(shape)} is smaller than the patch size {tuple(patch)}")


def extract_patches(volume: np.ndarray, corners: np.ndarray, size: Size) -> np.ndarray:
    """Patches of `volume` (*lead, *spatial) at `corners` (N, ndim): shape (N, *lead, *size)."""
    corners = np.asarray(corners, dtype=np.int64).reshape(len(corners), -1)
    patch = _patch_shape(size, corners.shape[1])
    ndim = len(patch)
    _check_fits(volume.shape[-ndim:], patch)
    windows = np.lib.stride_tricks.sliding_window_view(volume, patch, axis=tuple(range(-ndim, 0)))
    lead = volume.ndim - ndim
    # advanced indices on the window-position axes put the patch count right after the leading axes
    picked = windows[(Ellipsis, *corners.T) + (slice(None),) * ndim]
    return np.moveaxis(picked, lead, 0).copy()


def sample_patches(
    volume: np.ndarray, mask: np.ndarray, size: Size = 32, count: int = 16, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`count` patches, drawn uniformly (with replacement) among those whose centre voxel is in `mask`.

    `mask` has the spatial shape of `volume` (*lead, *spatial); the centre of a patch of side s is
    corner + s // 2. Returns (patches (count, *lead, *size), corners (count, ndim)). Raises a
    DataError if the volume is smaller than a patch or no masked voxel can be a patch centre.
    """
    mask = np.asarray(mask, dtype=bool)
    patch = _patch_shape(size, mask.ndim)
    if volume.shape[-mask.ndim:] != mask.shape:
        raise DataError(f"mask shape {mask.shape} does not match the volume's spatial shape {volume.shape}")
    _check_fits(mask.shape, patch)
    rng = rng if rng is not None else np.random.default_rng()
    # centres whose patch stays inside the volume: s // 2 <= c <= n - s + s // 2
    allowed = np.zeros_like(mask)
    allowed[tuple(slice(p // 2, n - p + p // 2 + 1) for p, n in zip(patch, mask.shape, strict=True))] = True
    centres = np.flatnonzero(mask & allowed)
    if centres.size == 0:
        raise DataError(f"no voxel of the mask can centre a patch of size {patch} (mask has {int(mask.sum())} voxels)")
    chosen = np.stack(np.unravel_index(rng.choice(centres, size=count), mask.shape), axis=1)
    corners = chosen - np.array([p // 2 for p in patch])
    return extract_patches(volume, corners, patch), corners


def grid_corners(shape: Sequence[int], size: Size, stride: Size = 8) -> np.ndarray:
    """Corners (N, ndim) of patches every `stride` voxels covering `shape`; the last one is flush with the edge."""
    patch = _patch_shape(size, len(shape))
    steps = _patch_shape(stride, len(shape))
    _check_fits(shape, patch)
    starts = []
    for n, p, step in zip(shape, patch, steps, strict=True):
        axis_starts = list(range(0, n - p + 1, step))
        if axis_starts[-1] != n - p:
            axis_starts.append(n - p)
        starts.append(axis_starts)
    return np.stack([g.ravel() for g in np.meshgrid(*starts, indexing="ij")], axis=1)


def _add_patches(total: np.ndarray, weight_sum: np.ndarray, patches: np.ndarray, corners: np.ndarray,
                 window: np.ndarray) -> None:
    """Add weighted `patches` at `corners` into the running sums, in place."""
    for values, corner in zip(patches, corners, strict=True):
        region = tuple(slice(c, c + p) for c, p in zip(corner, window.shape, strict=True))
        total[(Ellipsis, *region)] += values * window
        weight_sum[region] += window


def _weighted_average(total: np.ndarray, weight_sum: np.ndarray, fill: float) -> np.ndarray:
    covered = weight_sum > 0
    return np.where(covered, total / np.where(covered, weight_sum, 1.0), fill)


def reconstruct_from_patches(
    patches: np.ndarray, corners: np.ndarray, shape: Sequence[int], weights: np.ndarray | None = None,
    fill: float = 0.0,
) -> np.ndarray:
    """Weighted average of overlapping `patches` (N, *lead, *size) placed at `corners` in a volume of spatial `shape`.

    `weights` broadcasts to one patch's spatial shape (e.g. a window that trusts patch centres more);
    None weighs every voxel equally. Voxels no patch covers get `fill`. Returns (*lead, *shape), float64.
    """
    patches = np.asarray(patches)
    ndim = len(shape)
    patch = patches.shape[-ndim:]
    window = np.broadcast_to(np.ones(patch) if weights is None else np.asarray(weights, dtype=np.float64), patch)
    total = np.zeros((*patches.shape[1:-ndim], *shape))
    weight_sum = np.zeros(tuple(shape))
    _add_patches(total, weight_sum, patches, np.asarray(corners, dtype=np.int64), window)
    return _weighted_average(total, weight_sum, fill)


def predict_volume_by_patches(
    fn: Callable[[torch.Tensor], torch.Tensor], volume: np.ndarray, size: Size = 32, stride: Size = 8,
    batch: int = 8, device: str | torch.device = "cpu",
) -> np.ndarray:
    """Apply `fn` to overlapping patches of `volume` (C, *spatial) and average the outputs back.

    `fn` gets float32 batches (B, C, *size) on `device` and must return (B, C', *size); put a
    network in eval mode first. Runs without autograd; outputs are summed batch by batch, so memory
    stays at two volumes however many patches overlap. Returns (C', *spatial) as float32.
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1; got {batch}")
    spatial = volume.shape[1:]
    corners = grid_corners(spatial, size, stride)
    window = np.ones(_patch_shape(size, len(spatial)))
    total, weight_sum = None, np.zeros(spatial)
    with torch.inference_mode():
        for start in range(0, len(corners), batch):
            inputs = extract_patches(volume, corners[start:start + batch], size).astype(np.float32)
            outputs = fn(torch.from_numpy(inputs).to(device)).float().cpu().numpy()
            if outputs.shape[2:] != window.shape:
                raise ValueError(f"fn must keep the patch's spatial shape {window.shape}; got {outputs.shape[2:]}")
            if total is None:
                total = np.zeros((outputs.shape[1], *spatial))
            _add_patches(total, weight_sum, outputs, corners[start:start + batch], window)
    return _weighted_average(total, weight_sum, 0.0).astype(np.float32)
