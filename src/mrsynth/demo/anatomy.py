"""One subject's anatomy as a fine label map: deformed ellipsoids, noise-field sulci and a distance-transform cortex."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from mrsynth.demo.grid import Grid, smooth_noise
from mrsynth.demo.vessels import draw_vessels

BACKGROUND, CSF, GM, WM, LESION, SKULL, SCALP, MUSCLE = range(8)
LABEL_NAMES = {
    BACKGROUND: "background",
    CSF: "csf",
    GM: "gm",
    WM: "wm",
    LESION: "lesion",
    SKULL: "skull",
    SCALP: "scalp",
    MUSCLE: "muscle",
}
N_LABELS = len(LABEL_NAMES)
BRAIN_LABELS = (GM, WM, LESION)

SKULL_MM = 6.0
SCALP_MM = 6.0


@dataclass(frozen=True)
class Anatomy:
    """A subject's anatomy on the supersampled 7T grid (the 7T world frame is the anatomy frame)."""

    labels: np.ndarray  # uint8 label map (LABEL_NAMES)
    vessels: np.ndarray  # bool centre lines of thin vessels near the GM/WM boundary
    texture: np.ndarray  # float32 small relative proton-density variation within tissue
    grid: Grid
    record: dict


def _ellipsoid_distance(rel: list[np.ndarray], radii: np.ndarray) -> np.ndarray:
    """Signed distance (mm, + outside) to an ellipsoid's surface, measured along the ray from its centre."""
    r = np.sqrt(sum(c * c for c in rel))
    rho = np.sqrt(sum((c / a) ** 2 for c, a in zip(rel, radii, strict=True)))
    surface_radius = np.where(rho > 1e-6, r / np.maximum(rho, 1e-6), radii.min())
    return (r - surface_radius).astype(np.float32)


def _inside(rel: list[np.ndarray], centre, radii) -> np.ndarray:
    return sum(((c - m) / a) ** 2 for c, m, a in zip(rel, centre, radii, strict=True)) < 1.0


def _sample_shape(rng: np.random.Generator) -> dict:
    """Subject-specific ellipsoid and structure parameters (mm) of a plausible adult head."""
    scale = rng.uniform(0.95, 1.04)
    return {
        "cranium_centre_mm": [0.0, round(rng.uniform(-3, 3), 2), round(rng.uniform(-6, -2), 2)],
        "cranium_radii_mm": [round(scale * r * rng.uniform(0.97, 1.03), 2) for r in (64.0, 80.0, 56.0)],
        "deformation_mm": round(rng.uniform(2.0, 3.5), 2),
        "outer_csf_mm": round(rng.uniform(1.8, 3.0), 2),
        "sulcal_depth_mm": round(rng.uniform(14.0, 20.0), 2),
        "cortex_thickness_mm": round(rng.uniform(2.6, 3.2), 2),
        "ventricle_scale": round(rng.uniform(0.8, 1.4), 3),
        "lesion": _draw_lesion(rng),  # drawn before any grid-sized noise: same lesion at every image size
    }


def _deformed_coordinates(grid: Grid, rng: np.random.Generator, amplitude: float, centre) -> list[np.ndarray]:
    """Grid coordinates relative to the cranium centre, displaced by a smooth random field."""
    cell = 30.0 / grid.voxel_mm
    axes = grid.axes_mm()
    return [
        (axis - c + amplitude * smooth_noise(rng, grid.shape, cell)).astype(np.float32)
        for axis, c in zip(axes, centre, strict=True)
    ]


def _head_layers(rel: list[np.ndarray], dist: np.ndarray) -> np.ndarray:
    """Scalp, skull and neck around the cranial cavity; CSF inside it."""
    labels = np.zeros(dist.shape, np.uint8)
    x, y, z = rel
    neck = (x / 46.0) ** 2 + ((y + 10.0) / 52.0) ** 2
    labels[(dist < SKULL_MM + SCALP_MM) | ((neck < 1.0) & (z < -20.0))] = SCALP
    labels[(neck < 0.75) & (z < -20.0) & (dist >= SKULL_MM)] = MUSCLE
    labels[(dist >= 0) & (dist < SKULL_MM)] = SKULL
    labels[dist < 0] = CSF
    return labels


def _bounding_box(region: np.ndarray, pad: int = 1) -> tuple[slice, ...] | None:
    """Slices of the smallest padded box holding every True voxel (None if there is none)."""
    nonempty = [np.flatnonzero(region.any(axis=tuple(a for a in range(3) if a != k))) for k in range(3)]
    if any(idx.size == 0 for idx in nonempty):
        return None
    return tuple(slice(max(idx[0] - pad, 0), idx[-1] + 1 + pad) for idx in nonempty)


def _inner_distance_mm(region: np.ndarray, voxel_mm: float) -> np.ndarray:
    """Distance (mm) of every voxel of `region` to its outside, computed on the region's bounding box."""
    depth = np.zeros(region.shape, np.float32)
    box = _bounding_box(region)
    if box is not None:
        depth[box] = ndi.distance_transform_edt(region[box]) * voxel_mm
    return depth


def _box_around(grid: Grid, centre, half_mm) -> tuple[slice, ...]:
    """Grid slices covering centre ± half_mm (world mm) on each axis."""
    low = np.floor((np.asarray(centre) - half_mm - grid.origin_mm) / grid.voxel_mm).astype(int)
    high = np.ceil((np.asarray(centre) + half_mm - grid.origin_mm) / grid.voxel_mm).astype(int) + 1
    return tuple(slice(max(lo, 0), max(hi, 0)) for lo, hi in zip(low, high, strict=True))


def _folding(
    shape: tuple[int, ...], voxel_mm: float, rng: np.random.Generator, sigma_mm: float
) -> np.ndarray:
    """Unit-std smooth noise whose zero level sets are the sulcal fundi."""
    field = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma_mm / voxel_mm)
    return field / max(float(field.std()), 1e-6)


def _tentorium_height(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Height (mm from the cranium centre) of the tent between cerebrum and cerebellum."""
    return -12.0 + 0.2 * (y + 20.0) - 0.004 * x**2


def _cortex(labels, rel, dist, shape: dict, grid: Grid, rng: np.random.Generator) -> np.ndarray:
    """GM ribbon under the pial surface (brain edge, sulci, fissure, tentorium, folia); WM beneath."""
    x, y, z = rel
    tent = _tentorium_height(x, y)
    cerebellum = (y < -20.0) & (z < tent) & (dist < 0)
    gyri = _folding(grid.shape, grid.voxel_mm, rng, 3.0)
    box = _bounding_box(cerebellum)
    if box is not None:  # finer folia, drawn only where the cerebellum is
        folia = _folding(cerebellum[box].shape, grid.voxel_mm, rng, 1.8)
        gyri[box] = np.where(cerebellum[box], folia, gyri[box])
    sulci = (np.abs(gyri) < np.where(cerebellum, 0.35, 0.3)) & (dist > -shape["sulcal_depth_mm"])
    core = ((y + 5.0) / 40.0) ** 2 + ((z - 2.0) / 20.0) ** 2 < 1.0  # corpus callosum stops the fissure
    fissure = (np.abs(x) < 0.8) & (z > -20.0) & ~core
    tentorium = (y < -20.0) & (np.abs(z - tent) < 1.3)
    tissue = (dist < -shape["outer_csf_mm"]) & ~sulci & ~fissure & ~tentorium
    depth = _inner_distance_mm(tissue, grid.voxel_mm)
    thickness = shape["cortex_thickness_mm"] + 0.4 * smooth_noise(rng, grid.shape, 12.0 / grid.voxel_mm)
    labels[tissue] = WM
    labels[tissue & (depth <= thickness)] = GM
    return depth - thickness


def _deep_structures(labels: np.ndarray, rel: list[np.ndarray], ventricle_scale: float) -> None:
    """Deep GM nuclei, lateral and third ventricles (in mm relative to the cranium centre)."""
    x, y, z = rel
    for side in (-1.0, 1.0):
        for centre, radii in (
            ((10, -14, -2), (8, 12, 8)),
            ((24, 4, 0), (5, 13, 9)),
            ((12, 12, 8), (5, 8, 7)),
        ):
            labels[_inside(rel, (side * centre[0], *centre[1:]), radii)] = GM
    vs = ventricle_scale
    bent_z = z + 0.015 * y**2
    for side in (-1.0, 1.0):
        labels[_inside([x, y, bent_z], (side * 7.0 * vs, 0.0, 8.0), (5.0 * vs, 24.0, 7.0 * vs))] = CSF
    labels[(np.abs(x) < 1.5 * vs) & (y > -16) & (y < 4) & (z > -14) & (z < 2)] = CSF


def _brainstem(labels: np.ndarray, rel: list[np.ndarray]) -> None:
    """Brainstem and cord running down into the neck, sheathed in CSF."""
    x, y, z = rel
    stem_radius = np.sqrt(x**2 + (y + 8.0) ** 2)
    below = z < -20.0
    outside_brain = np.isin(labels, (BACKGROUND, SKULL, SCALP, MUSCLE))
    labels[(stem_radius < 11.0) & below & outside_brain] = CSF
    labels[(stem_radius < 9.0) & below] = WM


def _draw_lesion(rng: np.random.Generator) -> dict | None:
    """A small periventricular WM lesion in about half of the subjects (mm from the cranium centre)."""
    if rng.uniform() >= 0.5:
        return None
    centre = (float(rng.choice([-1, 1]) * rng.uniform(18, 24)), rng.uniform(-15, 15), rng.uniform(6, 14))
    radii = rng.uniform(4.0, 8.0, size=3)
    return {"centre_mm_from_cranium": [round(c, 2) for c in centre], "radii_mm": np.round(radii, 2).tolist()}


def _paint_lesion(labels: np.ndarray, rel: list[np.ndarray], lesion: dict | None) -> None:
    if lesion is not None:
        region = _inside(rel, lesion["centre_mm_from_cranium"], lesion["radii_mm"]) & np.isin(
            labels, (GM, WM)
        )
        labels[region] = LESION


def build_anatomy(grid: Grid, rng: np.random.Generator) -> Anatomy:
    """Draw one subject's head on `grid` (the supersampled 7T grid), reproducibly from `rng`."""
    shape = _sample_shape(rng)
    centre = np.asarray(shape["cranium_centre_mm"])
    radii = np.asarray(shape["cranium_radii_mm"])
    rel = _deformed_coordinates(grid, rng, shape["deformation_mm"], centre)
    dist = _ellipsoid_distance(rel, radii)
    labels = _head_layers(rel, dist)
    depth_below_gm = _cortex(labels, rel, dist, shape, grid, rng)
    deep = _box_around(grid, centre, 50.0)  # deep structures lie well within 50 mm of the centre
    _deep_structures(labels[deep], [c[deep] for c in rel], shape["ventricle_scale"])
    _paint_lesion(labels[deep], [c[deep] for c in rel], shape["lesion"])
    stem = _box_around(grid, centre + np.array([0.0, -8.0, -100.0]), np.array([25.0, 25.0, 80.0]))
    _brainstem(labels[stem], [c[stem] for c in rel])
    boundary = (labels == WM) & (depth_below_gm <= grid.voxel_mm)
    vessels, polylines = draw_vessels(boundary, np.isin(labels, BRAIN_LABELS), grid, centre, rng)
    shape["vessels_mm"] = polylines
    texture = 0.03 * smooth_noise(rng, grid.shape, 8.0 / grid.voxel_mm)
    return Anatomy(labels=labels, vessels=vessels, texture=texture, grid=grid, record=shape)
