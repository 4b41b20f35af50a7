"""Scanner effects: point-spread function, receive/transmit inhomogeneity, 7T dropout, rigid motion, Rician noise."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from mrsynth.demo.grid import Grid, mapped_indices

# Fraction of k-space (per axis, 1 = up to Nyquist) the 3T acquisition keeps: coarser, thicker-slice 3T.
KSPACE_KEPT_3T = (0.65, 0.65, 0.55)
B1_CENTRE_GAIN_7T = 0.5
B1_SIGMA_MM_7T = 45.0
DROPOUT_DEPTH_7T = 0.6
DROPOUT_SIGMA_MM_7T = 13.0
BIAS_GRADIENT_3T = 0.08


def rigid_matrix(rotation_deg, translation_mm) -> np.ndarray:
    """4×4 world transform x ↦ R x + t with R = Rz·Ry·Rx (rotations about the world origin)."""
    ax, ay, az = np.deg2rad(np.asarray(rotation_deg, float))
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    matrix = np.eye(4)
    matrix[:3, :3] = rz @ ry @ rx
    matrix[:3, 3] = translation_mm
    return matrix


def _kspace_window(n: int, kept: float, taper: float = 0.3) -> np.ndarray:
    """1D window over FFT frequencies: 1 in the kept band, raised-cosine roll-off, 0 beyond."""
    k = np.abs(np.fft.fftfreq(n)) * 2.0
    inner = kept * (1.0 - taper)
    ramp = np.clip((kept - k) / max(kept - inner, 1e-9), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * ramp)


def lowpass_kspace(volume: np.ndarray, kept: tuple[float, float, float]) -> np.ndarray:
    """Blur by truncating k-space (a sinc-like PSF with mild ringing), as a lower-resolution scan does."""
    window = 1.0
    for axis, (n, frac) in enumerate(zip(volume.shape, kept, strict=True)):
        shape = [1, 1, 1]
        shape[axis] = n
        window = window * _kspace_window(n, frac).reshape(shape)
    return np.fft.ifftn(np.fft.fftn(volume) * window).astype(np.complex64)


def _radius2(grid: Grid, centre) -> np.ndarray:
    return sum((axis - c) ** 2 for axis, c in zip(grid.axes_mm(), centre, strict=True))


def b1_field_7t(grid: Grid, brain_centre, brain_radii) -> np.ndarray:
    """7T centre brightening times signal dropout over both inferior temporal lobes."""
    field = 1.0 + B1_CENTRE_GAIN_7T * np.exp(-_radius2(grid, brain_centre) / (2 * B1_SIGMA_MM_7T**2))
    dropout = np.zeros(grid.shape)
    for centre in temporal_dropout_centres(brain_centre, brain_radii):
        dropout += np.exp(-_radius2(grid, centre) / (2 * DROPOUT_SIGMA_MM_7T**2))
    return (field * (1.0 - DROPOUT_DEPTH_7T * np.clip(dropout, 0.0, 1.0))).astype(np.float32)


def temporal_dropout_centres(brain_centre, brain_radii) -> list[list[float]]:
    """Inferior lateral (temporal-lobe) points where 7T transmit field is weak."""
    c, r = np.asarray(brain_centre, float), np.asarray(brain_radii, float)
    return [np.round(c + r * np.array([side * 0.72, 0.15, -0.5]), 2).tolist() for side in (-1.0, 1.0)]


def bias_field_3t(grid: Grid, direction: np.ndarray) -> np.ndarray:
    """Mild linear receive-coil shading across the head along a unit `direction`."""
    x, y, z = grid.axes_mm()
    along = (direction[0] * x + direction[1] * y + direction[2] * z) / 100.0
    return (1.0 + BIAS_GRADIENT_3T * along).astype(np.float32)


def rigidly_moved(volume: np.ndarray, grid: Grid, matrix: np.ndarray) -> np.ndarray:
    """The image of an object moved by `matrix` (world mm): output(y) = input(matrix⁻¹ y)."""
    index = mapped_indices(grid, np.linalg.inv(matrix), grid)
    parts = [volume.real] + ([volume.imag] if np.iscomplexobj(volume) else [])
    moved = [ndi.map_coordinates(p, index, order=1, mode="constant").reshape(grid.shape) for p in parts]
    return moved[0] + 1j * moved[1] if len(moved) == 2 else moved[0]


def motion_corrupted(
    volume: np.ndarray, grid: Grid, segments: list[tuple[int, int, np.ndarray]], axis: int = 1
):
    """Sequential acquisition with head motion: each (start, stop, pose) fills centred k-space lines [start, stop)."""
    kspace = np.zeros(volume.shape, np.complex128)
    for start, stop, pose in segments:
        moved = np.fft.fftshift(np.fft.fftn(rigidly_moved(volume, grid, pose)), axes=axis)
        index = [slice(None)] * 3
        index[axis] = slice(start, stop)
        kspace[tuple(index)] = moved[tuple(index)]
    return np.fft.ifftn(np.fft.ifftshift(kspace, axes=axis)).astype(np.complex64)


def rician_magnitude(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitude of the complex signal plus independent Gaussian noise in both channels."""
    noise = rng.standard_normal((2, *signal.shape), dtype=np.float32) * sigma
    return np.abs(signal + noise[0] + 1j * noise[1]).astype(np.float32)
