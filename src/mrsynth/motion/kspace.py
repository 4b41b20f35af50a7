"""k-space motion: each segment of phase-encode lines is acquired with the head in its own rigid pose.

Conventions: a pose is a 4×4 world transform x ↦ R x + t in mm about the grid centre (R = Rz·Ry·Rx,
see `mrsynth.motion.score.rigid_matrix`); the object moved by the pose has the image
out(y) = in(pose⁻¹ y). Lines are indexed in centred order along `axis` (index n//2 holds the k-space
centre) and a segment (start, stop, pose) fills lines start ≤ k < stop. Rotations are resampled in
image space (cubic spline); translations are exact Fourier phase ramps; an identity pose is not
resampled at all, so a motion-free acquisition returns the input to floating-point precision.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

Segment = tuple[int, int, np.ndarray]


def _rotated(volume: np.ndarray, rotation: np.ndarray, voxel_mm: np.ndarray) -> np.ndarray:
    """out(y) = in(R⁻¹ y) about the grid centre, in voxel indices: i = c + V⁻¹ Rᵀ V (j − c)."""
    if np.allclose(rotation, np.eye(3), atol=1e-12):
        return volume
    matrix = np.diag(1.0 / voxel_mm) @ rotation.T @ np.diag(voxel_mm)
    centre = (np.asarray(volume.shape, dtype=float) - 1) / 2
    return ndi.affine_transform(volume, matrix, offset=centre - matrix @ centre, order=3, mode="constant", cval=0.0)


def _phase_ramp(shape: tuple[int, ...], translation_mm: np.ndarray, voxel_mm: np.ndarray) -> np.ndarray | float:
    """exp(−2πi k·t) on the (unshifted) FFT grid: the spectrum of the image shifted by t."""
    if not np.any(translation_mm):
        return 1.0
    ramp = np.ones(shape, dtype=np.complex128)
    for axis, (n, d, t) in enumerate(zip(shape, voxel_mm, translation_mm, strict=True)):
        view = [1] * len(shape)
        view[axis] = n
        ramp = ramp * np.exp(-2j * np.pi * np.fft.fftfreq(n, d=d) * t).reshape(view)
    return ramp


def moved_spectrum(volume: np.ndarray, pose: np.ndarray, voxel_mm) -> np.ndarray:
    """Centred (fftshifted) k-space of the volume with the object moved by `pose`."""
    voxel_mm = np.asarray(voxel_mm, dtype=float)
    rotated = _rotated(volume.astype(np.float64), pose[:3, :3], voxel_mm)
    spectrum = np.fft.fftn(rotated) * _phase_ramp(volume.shape, pose[:3, 3], voxel_mm)
    return np.fft.fftshift(spectrum)


def motion_corrupted(volume: np.ndarray, segments: list[Segment], voxel_mm, axis: int = 1) -> np.ndarray:
    """Magnitude image of a sequential acquisition whose segments saw the head in different poses."""
    n = volume.shape[axis]
    covered = np.zeros(n, dtype=bool)
    kspace = np.zeros(volume.shape, dtype=np.complex128)
    for start, stop, pose in segments:
        index = [slice(None)] * volume.ndim
        index[axis] = slice(start, stop)
        kspace[tuple(index)] = moved_spectrum(volume, pose, voxel_mm)[tuple(index)]
        covered[start:stop] = True
    if not covered.all():
        raise ValueError(f"segments must cover all {n} lines of axis {axis}")
    return np.abs(np.fft.ifftn(np.fft.ifftshift(kspace))).astype(np.float32)


def segment_energy(volume: np.ndarray, segments: list[Segment], axis: int = 1) -> np.ndarray:
    """Share of the (unmoved) volume's k-space energy in each segment's lines."""
    spectrum = np.abs(np.fft.fftshift(np.fft.fftn(volume.astype(np.float64)))) ** 2
    other = tuple(a for a in range(volume.ndim) if a != axis)
    per_line = spectrum.sum(axis=other)
    energy = np.array([per_line[start:stop].sum() for start, stop, _ in segments])
    return energy / max(float(per_line.sum()), 1e-300)


def random_segments(n_lines: int, states: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """`states` contiguous runs of lines covering [0, n_lines), cut at random places."""
    states = max(1, min(states, n_lines))
    cuts = np.sort(rng.choice(np.arange(1, n_lines), size=states - 1, replace=False)) if states > 1 else []
    edges = [0, *map(int, cuts), n_lines]
    return list(zip(edges[:-1], edges[1:], strict=True))
