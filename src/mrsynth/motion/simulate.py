"""One synthetic sample: the study's random transforms, then k-space motion, and its ground-truth score.

Every draw comes from `sample_rng(seed, fingerprint, index)`, so a volume's samples depend only on the
motion seed, the volume's content and the sample's index (not on the order volumes are visited).
A moved sample has `states` segments of contiguous centred k-space lines cut at random; the segment
holding the k-space centre is the reference (identity pose), every other one gets a rigid pose with
rotations in [-s·max_rotation, s·max_rotation] and translations in [-s·max_translation, ...] for the
sample's severity s ~ U(0, 1). A clean sample has one identity segment (score 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mrsynth.motion.augment import apply_augment, draw_augment
from mrsynth.motion.kspace import motion_corrupted, random_segments, segment_energy
from mrsynth.motion.score import motion_score, rigid_matrix
from mrsynth.motion.volumes import normalise
from mrsynth.spec.motion import MotionSpec

STILL = {"rotation_deg": [0.0, 0.0, 0.0], "translation_mm": [0.0, 0.0, 0.0]}


def sample_rng(seed: int, fingerprint: str, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, int(fingerprint[:16], 16), index]))


def draw_motion(spec: MotionSpec, shape: tuple[int, int, int], rng: np.random.Generator) -> dict[str, Any]:
    """Phase-encode axis, severity and segments (start, stop, rotation_deg, translation_mm) of one sample."""
    axis = int(rng.choice(spec.phase_encode_axes))
    n = shape[axis]
    if rng.random() < spec.clean_fraction:
        return {"axis": axis, "severity": 0.0, "segments": [{"start": 0, "stop": n, **STILL}]}
    severity = float(rng.uniform(0.0, 1.0))
    segments = []
    for start, stop in random_segments(n, int(rng.integers(spec.states[0], spec.states[1] + 1)), rng):
        if start <= n // 2 < stop:
            segments.append({"start": start, "stop": stop, **STILL})
            continue
        rotation = rng.uniform(-1, 1, 3) * severity * spec.max_rotation_deg
        translation = rng.uniform(-1, 1, 3) * severity * spec.max_translation_mm
        segments.append({"start": start, "stop": stop, "rotation_deg": rotation.round(4).tolist(),
                         "translation_mm": translation.round(4).tolist()})
    return {"axis": axis, "severity": round(severity, 4), "segments": segments}


def pose_segments(motion: dict[str, Any]) -> list[tuple[int, int, np.ndarray]]:
    return [(s["start"], s["stop"], rigid_matrix(s["rotation_deg"], s["translation_mm"])) for s in motion["segments"]]


def segment_weights(volume: np.ndarray, segments, axis: int, weighting: str) -> np.ndarray:
    """Each segment's share of k-space energy (of the unmoved volume) or of acquisition time (lines)."""
    if weighting == "kspace_energy":
        return segment_energy(volume, segments, axis)
    return np.array([stop - start for start, stop, _ in segments], dtype=float) / volume.shape[axis]


def true_score(volume: np.ndarray, motion: dict[str, Any], radius_mm: float, weighting: str) -> float:
    """The ground-truth score of `motion` applied to `volume` (see mrsynth.motion.score)."""
    segments = pose_segments(motion)
    weights = segment_weights(volume, segments, motion["axis"], weighting)
    return motion_score(np.stack([pose for _, _, pose in segments]), weights, radius_mm)


def generate_sample(volume: np.ndarray, voxel_mm, spec: MotionSpec,
                    rng: np.random.Generator) -> tuple[np.ndarray, float, dict[str, Any]]:
    """(corrupted and normalised sample, its motion score in mm, the drawn parameters)."""
    augment = draw_augment(spec.augment, rng)
    motion = draw_motion(spec, volume.shape, rng)
    augmented = apply_augment(volume, augment, spec.augment, voxel_mm)
    corrupted = motion_corrupted(augmented, pose_segments(motion), voxel_mm, motion["axis"])
    score = true_score(augmented, motion, spec.radius_mm, spec.score_weighting)
    return normalise(corrupted), score, {"augment": augment, "motion": motion}
