"""Source → target registration with ANTs and resampling of the source into the target grid."""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from mrsynth.preprocess.ants_images import itk_affine_to_ras, to_ants
from mrsynth.preprocess.threads import ITK_THREADS_VARIABLE, load_ants
from mrsynth.spec.preprocess import RegistrationSpec

ANTS_TRANSFORM = {"rigid": "Rigid", "affine": "Affine"}


@dataclass(frozen=True)
class Grid:
    """An image in world space: voxels, RAS affine and brain mask."""

    array: np.ndarray
    affine: np.ndarray
    mask: np.ndarray


@dataclass(frozen=True)
class Registered:
    """The source resampled into the target grid, and how it got there."""

    image: np.ndarray
    mask: np.ndarray
    transform: np.ndarray | None
    info: dict


def register_to_target(source: Grid, target: Grid, spec: RegistrationSpec) -> Registered:
    """Register `source` onto `target` (unless spec.kind is none) and resample it into the target grid.

    `transform` is the source → target RAS world matrix: a source point p lands at transform @ p.
    Raises RuntimeError when ANTs fails.
    """
    fixed, moving = _ants_images(target), _ants_images(source)
    info: dict = {"registration": spec.kind, "itk_threads": os.environ.get(ITK_THREADS_VARIABLE)}
    image, mask = _resample(moving, fixed, [])
    info.update(_agreement(image, mask, target, spec.bins, "before"))
    if spec.kind == "none":
        return Registered(image=image, mask=mask, transform=None, info=info)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mrsynth-reg-") as folder:
        forward = _fit(source, target, moving, fixed, spec, folder, info)
        image, mask = _resample(moving, fixed, forward)
        itk = load_ants().read_transform(forward[0])
        fixed_to_moving = itk_affine_to_ras(itk.parameters, itk.fixed_parameters)
    info["registration_seconds"] = round(time.perf_counter() - started, 3)
    info.update(_agreement(image, mask, target, spec.bins, "after"))
    return Registered(image=image, mask=mask, transform=np.linalg.inv(fixed_to_moving), info=info)


def _ants_images(grid: Grid) -> tuple:
    """The grid's image and its brain mask as ANTs images."""
    return to_ants(grid.array, grid.affine), to_ants(grid.mask.astype(np.float32), grid.affine)


def _fit(source: Grid, target: Grid, moving, fixed, spec: RegistrationSpec, folder: str, info: dict) -> list[str]:
    """Run antsRegistration; returns the forward transform files (target points → source points)."""
    ants = load_ants()
    shrink = shrink_factors(spec.pyramid_mm, target.affine)
    rate = sampling_rate(spec, target.mask if spec.use_masks else np.ones(target.array.shape, bool), shrink[-1])
    info.update({"shrink_factors": list(shrink), "sampling_rate": round(rate, 4)})
    (fixed_image, fixed_mask), (moving_image, moving_mask) = fixed, moving
    masks = {"mask": fixed_mask, "moving_mask": moving_mask, "mask_all_stages": True} if spec.use_masks else {}
    with _ants_seed(spec.seed):
        result = ants.registration(
            fixed=fixed_image * fixed_mask if spec.use_masks else fixed_image,
            moving=moving_image * moving_mask if spec.use_masks else moving_image,
            type_of_transform=ANTS_TRANSFORM[spec.kind],
            outprefix=f"{folder}/reg_",
            initial_transform=_initial_transform(source, target, spec, f"{folder}/init.mat"),
            aff_metric=spec.metric,
            aff_sampling=spec.bins,
            aff_random_sampling_rate=rate,
            aff_iterations=tuple(spec.iterations),
            aff_shrink_factors=shrink,
            aff_smoothing_sigmas=tuple(math.log2(factor) for factor in shrink),
            **masks,
        )
    return list(result["fwdtransforms"])


def _initial_transform(source: Grid, target: Grid, spec: RegistrationSpec, path: str) -> str:
    """An ITK transform file to start from: identity, or the shift that makes the mask centroids coincide."""
    ants = load_ants()
    shift_ras = np.zeros(3)
    if spec.initialise == "mask_centroids":
        shift_ras = _mask_centroid(source) - _mask_centroid(target)
    # ITK maps fixed (target) points to moving (source) points, in LPS.
    transform = ants.create_ants_transform(
        transform_type="AffineTransform", dimension=3, translation=tuple((shift_ras * [-1, -1, 1]).tolist())
    )
    ants.write_transform(transform, path)
    return path


def _mask_centroid(grid: Grid) -> np.ndarray:
    """World (RAS) centroid of a brain mask."""
    centre = np.argwhere(grid.mask).mean(axis=0)
    return grid.affine[:3, :3] @ centre + grid.affine[:3, 3]


def shrink_factors(pyramid_mm: tuple[float, ...], affine: np.ndarray) -> tuple[int, ...]:
    """ANTs shrink factor per level: the level's voxel size over the target's finest spacing, at least 1."""
    finest_mm = float(np.linalg.norm(np.asarray(affine)[:3, :3], axis=0).min())
    return tuple(max(1, round(level_mm / finest_mm)) for level_mm in pyramid_mm)


def sampling_rate(spec: RegistrationSpec, domain: np.ndarray, finest_shrink: int) -> float:
    """The spec's rate, raised so the finest level draws at least `min_samples` points from `domain`."""
    voxels_at_finest = max(1.0, float(domain.sum()) / finest_shrink**3)
    return float(min(1.0, max(spec.sampling_rate, spec.min_samples / voxels_at_finest)))


def mask_dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice overlap of two boolean masks (1.0 when both are empty)."""
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * int((a & b).sum()) / total


def mutual_information(a: np.ndarray, b: np.ndarray, bins: int) -> float:
    """Mutual information (nats) of two paired intensity samples, from their joint histogram."""
    if a.size == 0:
        return 0.0
    joint, _, _ = np.histogram2d(a, b, bins=bins)
    joint /= joint.sum()
    outer = joint.sum(axis=1, keepdims=True) * joint.sum(axis=0, keepdims=True)
    present = joint > 0
    return float((joint[present] * np.log(joint[present] / outer[present])).sum())


def _resample(moving, fixed, transforms: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Source image (linear) and mask (nearest) in the fixed grid; no transforms means world identity."""
    ants = load_ants()
    (moving_image, moving_mask), fixed_image = moving, fixed[0]
    if not transforms:
        image = ants.resample_image_to_target(moving_image, fixed_image, interp_type="linear")
        mask = ants.resample_image_to_target(moving_mask, fixed_image, interp_type="nearestNeighbor")
    else:
        image = ants.apply_transforms(fixed_image, moving_image, transforms, interpolator="linear")
        mask = ants.apply_transforms(fixed_image, moving_mask, transforms, interpolator="nearestNeighbor")
    return image.numpy().astype(np.float32), mask.numpy() > 0.5


def _agreement(image: np.ndarray, mask: np.ndarray, target: Grid, bins: int, when: str) -> dict:
    """Brain-mask Dice, and mutual information inside the target brain, of the resampled source vs target."""
    return {
        f"dice_{when}": round(mask_dice(mask, target.mask), 4),
        f"mutual_information_{when}": round(mutual_information(image[target.mask], target.array[target.mask], bins), 4),
    }


@contextmanager
def _ants_seed(seed: int) -> Iterator[None]:
    """antspyx 0.6.3 passes `--random-seed` to antsRegistration only through its module config."""
    config = load_ants().config
    previous = config._random_seed
    config._random_seed = seed
    try:
        yield
    finally:
        config._random_seed = previous
