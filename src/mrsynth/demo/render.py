"""Render one subject: anatomy → both sessions (misregistered) → contrasts, scanner effects, defects, noise."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from mrsynth.demo import artifacts, defects
from mrsynth.demo.anatomy import BACKGROUND, BRAIN_LABELS, CSF, N_LABELS, Anatomy, build_anatomy
from mrsynth.demo.contrast import CONTRASTS, FIELDS, mix_signal, noise_sigma
from mrsynth.demo.grid import Grid, block_mean, label_fractions, mapped_indices, supersampling_factor

STREAMS = {"anatomy": 1, "transform": 2, "defect": 3, "noise": 4, "bias": 5}
INT16_MAX = 32767


@dataclass(frozen=True)
class SubjectPlan:
    """What to render for one subject; `defect_kind` is None for a clean subject."""

    index: int
    seed: int
    defect_kind: str | None = None

    @property
    def subject(self) -> str:
        return f"sub-{self.index:02d}"


@dataclass
class SessionVolumes:
    images: dict[str, np.ndarray]  # contrast → int16 image
    mask: np.ndarray  # uint8 provided brain mask (defects included)
    labels: np.ndarray  # uint8 true tissue labels before injected defects
    clean_mask: np.ndarray  # uint8 true brain mask before injected defects
    fractions: np.ndarray  # float32 (label, x, y, z) partial-volume fraction of every label


@dataclass
class RenderedSubject:
    sessions: dict[str, SessionVolumes]
    record: dict
    defect: dict | None = field(default=None)


def stream(plan: SubjectPlan, name: str, *extra: int) -> np.random.Generator:
    """An independent random stream per subject and purpose, so one change never shifts the others."""
    return np.random.default_rng(np.random.SeedSequence([plan.seed, plan.index, STREAMS[name], *extra]))


def _draw_misregistration(rng: np.random.Generator) -> dict:
    """A few degrees and millimetres between the sessions, random sign per axis."""
    signs = rng.choice([-1.0, 1.0], size=(2, 3))
    rotation = np.round(signs[0] * rng.uniform(2.0, 5.0, 3), 3)
    translation = np.round(signs[1] * rng.uniform(2.0, 5.0, 3), 3)
    return {"rotation_deg": rotation.tolist(), "translation_mm": translation.tolist()}


def _session_fractions(anatomy: Anatomy, grid: Grid, factor: int, to_anatomy: np.ndarray | None):
    """Label fractions and texture on `grid`, seeing the anatomy through a world transform (None: identity)."""
    if to_anatomy is None:
        return label_fractions(anatomy.labels, N_LABELS, factor), block_mean(anatomy.texture, factor)
    fine_index = mapped_indices(anatomy.grid, to_anatomy, anatomy.grid)
    labels = ndi.map_coordinates(anatomy.labels, fine_index, order=0, mode="nearest")
    index = mapped_indices(grid, to_anatomy, anatomy.grid)
    texture = ndi.map_coordinates(anatomy.texture, index, order=1, mode="nearest")
    return label_fractions(labels, N_LABELS, factor), texture


def brain_mask(fractions: np.ndarray) -> np.ndarray:
    """Brain tissue with its internal CSF (ventricles, sulci) filled in, excluding skull and scalp."""
    brain = fractions[list(BRAIN_LABELS)].sum(axis=0) >= 0.5
    cavity = fractions[[CSF, *BRAIN_LABELS]].sum(axis=0) >= 0.5
    closed = ndi.binary_fill_holes(ndi.binary_closing(brain, iterations=1))
    return (closed & cavity).astype(np.uint8)


def _image(signal, field_strength, contrast, grid, defect, plan, session_index) -> np.ndarray:
    """Scanner effects in acquisition order, then the slice defects, then Rician noise; int16 output."""
    volume = signal.astype(np.complex64)
    if defect and defect["kind"] == defects.MOTION and defect["contrast"] == contrast:
        if defect["session"] == f"ses-{field_strength}":
            volume = artifacts.motion_corrupted(volume, grid, defects.motion_segments(defect))
    if field_strength == "3T":
        volume = artifacts.lowpass_kspace(volume, artifacts.KSPACE_KEPT_3T)
    if field_strength == "7T":
        volume = defects.apply_slice_defect(volume, defect)
    rng = stream(plan, "noise", session_index, CONTRASTS.index(contrast))
    magnitude = artifacts.rician_magnitude(volume, noise_sigma(field_strength, contrast), rng)
    return np.clip(np.rint(magnitude), 0, INT16_MAX).astype(np.int16)


def render_subject(plan: SubjectPlan, grid: Grid) -> RenderedSubject:
    """All volumes of one subject; deterministic in (plan, grid)."""
    factor = supersampling_factor(grid)
    anatomy = build_anatomy(grid.supersampled(factor), stream(plan, "anatomy"))
    misregistration = _draw_misregistration(stream(plan, "transform"))
    to_7t = artifacts.rigid_matrix(misregistration["rotation_deg"], misregistration["translation_mm"])
    centre, radii = anatomy.record["cranium_centre_mm"], anatomy.record["cranium_radii_mm"]
    bias_rng = stream(plan, "bias")
    direction = bias_rng.standard_normal(3)
    scanner = {
        "3T": artifacts.bias_field_3t(grid, direction / np.linalg.norm(direction)),
        "7T": artifacts.b1_field_7t(grid, centre, radii),
    }
    fractions = {"7T": _session_fractions(anatomy, grid, factor, None)}
    fractions["3T"] = _session_fractions(anatomy, grid, factor, to_7t)
    vessel_fraction = block_mean(anatomy.vessels, factor)
    masks = {f: brain_mask(fractions[f][0]) for f in FIELDS}
    defect = None
    if plan.defect_kind is not None:
        defect = defects.draw_defect(plan.defect_kind, masks["7T"], stream(plan, "defect"))
    sessions = {}
    for session_index, f in enumerate(FIELDS):
        tissue, texture = fractions[f]
        vessels = vessel_fraction if f == "7T" else None
        images = {}
        for contrast in CONTRASTS:
            signal = mix_signal(tissue, f, contrast, texture, vessels) * scanner[f]
            images[contrast] = _image(signal, f, contrast, grid, defect, plan, session_index)
        sessions[f"ses-{f}"] = SessionVolumes(
            images=images,
            mask=_provided_mask(masks[f], tissue, f, defect, grid),
            labels=np.argmax(tissue, axis=0).astype(np.uint8),
            clean_mask=masks[f],
            fractions=tissue,
        )
    if defect and defect["kind"] == defects.BAD_MASK:
        volumes = sessions[defect["session"]]
        defect["dice_with_true_mask"] = round(_dice(volumes.mask, volumes.clean_mask), 4)
    record = {
        "anatomy": anatomy.record,
        "misregistration": {**misregistration, "T_3T_to_7T": np.round(to_7t, 6).tolist()},
        "bias_3T_direction": np.round(direction / np.linalg.norm(direction), 4).tolist(),
        "dropout_centres_7T_mm": artifacts.temporal_dropout_centres(centre, radii),
    }
    return RenderedSubject(sessions=sessions, record=record, defect=defect)


def _provided_mask(mask, fractions, field_strength, defect, grid: Grid) -> np.ndarray:
    """The mask a skull-stripping tool would give: follows slice defects, corrupted for a bad-mask defect."""
    if field_strength == "7T":
        mask = defects.apply_slice_defect(mask, defect)
    if defect and defect["kind"] == defects.BAD_MASK and defect["session"] == f"ses-{field_strength}":
        head = fractions[BACKGROUND] < 0.5
        mask = defects.corrupt_mask(mask.astype(bool), head, defect, grid.voxel_mm)
    return mask.astype(np.uint8)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    return float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))
