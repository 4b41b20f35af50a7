"""Motion scores: Jenkinson's RMS deviation of rigid transforms over a sphere, and a volume's score.

RMS deviation (Jenkinson 1999, FMRIB TR99MJ1, eq. 34) of a transform T from the identity over a
sphere of radius r centred at c: with M = T - I, A = M[:3, :3], t = M[:3, 3],
    RMS² = r²/5 · trace(AᵀA) + |t + A c|².
Between two transforms T1, T2 it is the RMS deviation of T2·T1⁻¹.

A corrupted volume is acquired in segments of k-space lines, each under one head pose relative to the
reference pose (the segment holding the k-space centre, whose pose is the image's position). Its score
is the weighted RMS over segments, sqrt(Σ wᵢ RMSᵢ² / Σ wᵢ): the RMS displacement of the head points
over the sphere and over the acquisition, each segment weighted by its share of k-space energy
(`kspace_energy`, what the image shows) or of acquisition time (`time`, how long the head was moved).
"""

from __future__ import annotations

import numpy as np

DEFAULT_RADIUS_MM = 80.0


def rigid_matrix(rotation_deg, translation_mm) -> np.ndarray:
    """4×4 transform x ↦ R x + t with R = Rz·Ry·Rx, angles in degrees about the origin (the grid centre)."""
    ax, ay, az = np.deg2rad(np.asarray(rotation_deg, dtype=float))
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    matrix = np.eye(4)
    matrix[:3, :3] = rz @ ry @ rx
    matrix[:3, 3] = np.asarray(translation_mm, dtype=float)
    return matrix


def rms_deviation(matrix: np.ndarray, radius_mm: float = DEFAULT_RADIUS_MM, centre_mm=(0.0, 0.0, 0.0)) -> np.ndarray:
    """RMS deviation (mm) of transform(s) `matrix` (…, 4, 4) from the identity over a sphere."""
    matrix = np.asarray(matrix, dtype=float)
    deviation = matrix - np.eye(4)
    a, t = deviation[..., :3, :3], deviation[..., :3, 3]
    shift = t + np.einsum("...ij,j->...i", a, np.asarray(centre_mm, dtype=float))
    squared = radius_mm**2 / 5.0 * np.einsum("...ij,...ij->...", a, a) + np.einsum("...i,...i->...", shift, shift)
    return np.sqrt(np.maximum(squared, 0.0))


def rms_between(first: np.ndarray, second: np.ndarray, radius_mm: float = DEFAULT_RADIUS_MM,
                centre_mm=(0.0, 0.0, 0.0)) -> float:
    """Jenkinson's RMS deviation between two transforms of the same points."""
    return float(rms_deviation(np.asarray(second) @ np.linalg.inv(first), radius_mm, centre_mm))


def motion_score(poses: np.ndarray, weights: np.ndarray, radius_mm: float = DEFAULT_RADIUS_MM) -> float:
    """Weighted RMS deviation (mm) of segment poses (n, 4, 4) relative to the reference pose (identity)."""
    weights = np.asarray(weights, dtype=float)
    if len(weights) == 0 or weights.sum() <= 0:
        return 0.0
    rms = rms_deviation(np.asarray(poses, dtype=float), radius_mm)
    return float(np.sqrt(np.sum(weights * rms**2) / weights.sum()))
