"""Synthetic heads for preprocessing tests: an analytic phantom sampled on any grid, under any motion."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from mrsynth.spec.preprocess import N4Spec, NoSkullStrip, PreprocessSpec

SHAPE = (40, 40, 32)
VOXEL_MM = 2.0
BRAIN_AXES_MM = np.array([22.0, 26.0, 18.0])
# Tissue intensities per contrast; outside the brain: CSF, then dark bone (skull), then bright scalp.
CONTRASTS = {
    "t1": {"gm": 0.65, "wm": 1.0, "ventricle": 0.2, "lesion": 0.45, "csf": 0.1, "skull": 0.05, "scalp": 0.9},
    "t2": {"gm": 0.7, "wm": 0.45, "ventricle": 1.0, "lesion": 0.9, "csf": 0.95, "skull": 0.05, "scalp": 0.6},
}
LAYERS = {"csf": 1.15, "skull": 1.3, "scalp": 1.45}  # outer radius of each shell, in brain radii
_TEXTURE = ndimage.gaussian_filter(np.random.default_rng(7).normal(size=(48, 48, 40)), 2.0)
_TEXTURE /= _TEXTURE.std()


def grid_affine(shape=SHAPE, voxel_mm=VOXEL_MM) -> np.ndarray:
    """RAS affine with the grid centre at world origin."""
    affine = np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0])
    affine[:3, 3] = -voxel_mm * (np.asarray(shape) - 1) / 2.0
    return affine


def rigid_motion(shift_mm=(0.0, 0.0, 0.0), degrees_about_z=0.0, degrees_about_x=0.0) -> np.ndarray:
    """A 4x4 RAS rigid transform: rotation about z then x, then a shift."""
    a, b = np.deg2rad(degrees_about_z), np.deg2rad(degrees_about_x)
    rot_z = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rot_x = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    motion = np.eye(4)
    motion[:3, :3] = rot_x @ rot_z
    motion[:3, 3] = shift_mm
    return motion


def _inside(points: np.ndarray, centre, axes) -> np.ndarray:
    return ((((points - np.asarray(centre)) / np.asarray(axes)) ** 2).sum(axis=-1)) <= 1.0


def brain_shape(points: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """The brain, an ellipsoid with an off-centre lobe that breaks its symmetry, grown by `scale`."""
    scaled = points / scale
    return _inside(scaled, (0, 0, 0), BRAIN_AXES_MM) | _inside(scaled, (10, 8, 2), (14, 12, 10))


def phantom_labels(points: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean tissue maps of the anatomy at world points (..., 3)."""
    labels = {
        "brain": brain_shape(points),
        "wm": _inside(points, (0, 2, 2), BRAIN_AXES_MM * 0.6),
        "ventricle": _inside(points, (-5, 4, 3), (3, 9, 4)) | _inside(points, (6, 2, 3), (3, 7, 4)),
        "lesion": _inside(points, (11, -12, 6), (4, 5, 4)),
    }
    inner = labels["brain"]
    for name, scale in LAYERS.items():
        outer = brain_shape(points, scale) | inner
        labels[name] = outer & ~inner
        inner = outer
    return labels


def phantom_image(contrast="t1", shape=SHAPE, affine=None, motion=None, skull=True, texture=0.05, noise=0.01):
    """Sample the phantom on a grid; the anatomy shown at world x is the phantom at motion @ x.

    So the true source → target world transform of an image made with `motion` is `motion` itself.
    Returns (image, true brain mask, affine).
    """
    affine = grid_affine(shape) if affine is None else affine
    motion = np.eye(4) if motion is None else motion
    index = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1).astype(float)
    world = index @ affine[:3, :3].T + affine[:3, 3]
    anatomy = world @ motion[:3, :3].T + motion[:3, 3]
    labels = phantom_labels(anatomy)
    tissue = CONTRASTS[contrast]
    image = np.zeros(shape, dtype=np.float32)
    for name in ("csf", "skull", "scalp") if skull else ("csf",):
        image[labels[name]] = tissue[name]
    image[labels["brain"]] = tissue["gm"]
    for name in ("wm", "ventricle", "lesion"):
        image[labels[name] & labels["brain"]] = tissue[name]
    texture_at = ndimage.map_coordinates(_TEXTURE, (anatomy / 2.5 + 24).transpose(3, 0, 1, 2), order=1, mode="nearest")
    image *= 1.0 + texture * texture_at
    image += noise * np.random.default_rng(0).normal(size=shape).astype(np.float32)
    if not skull:
        image[~labels["brain"]] = 0.0
    return np.clip(image, 0, None).astype(np.float32), labels["brain"], affine


def write_nifti(path: Path, array: np.ndarray, affine: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(np.asarray(array), affine), str(path))
    return path


@pytest.fixture
def phantoms() -> SimpleNamespace:
    """The phantom helpers, as a fixture so tests need no import path to this folder."""
    return SimpleNamespace(
        image=phantom_image, labels=phantom_labels, save=write_nifti, motion=rigid_motion, affine=grid_affine
    )


@pytest.fixture
def fast_spec() -> PreprocessSpec:
    """Settings sized for 40-voxel phantoms: already skull-stripped inputs, light N4, default rigid registration."""
    return PreprocessSpec(skull_strip=NoSkullStrip(), n4=N4Spec(shrink_factor=2, iterations=(20, 20)))
