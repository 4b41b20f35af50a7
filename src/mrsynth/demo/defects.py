"""Injected acquisition defects: which subjects get which, their exact parameters, and how they are applied."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from mrsynth.demo.artifacts import rigid_matrix
from mrsynth.demo.contrast import CONTRASTS, FIELDS

SLICE_OFFSET, MISALIGNMENT, MOTION, BAD_MASK = "slice_offset", "local_misalignment", "motion", "bad_mask"
CLEAN_SUBJECTS = 2  # sub-01 and sub-02 never carry a defect
GROUPS = {
    SLICE_OFFSET: "slice_offsets",
    MISALIGNMENT: "local_misalignments",
    MOTION: "motion_corrupted",
    BAD_MASK: "bad_masks",
}

CONVENTIONS = {
    "index_space": "voxel indices of the affected file; axis 2 is the slice axis (z, inferior→superior)",
    SLICE_OFFSET: "7T slice z (start ≤ z < stop) shows the anatomy that belongs at z + shift; all contrasts of that session alike",
    MISALIGNMENT: "for start ≤ z < stop, voxel (i, j, z) shows the anatomy that belongs at (i - dx, j - dy, z); all contrasts of that session alike",
    MOTION: "k-space is acquired line by line along phase_encode_axis in centred order (index n//2 is the centre "
    "of k-space); lines start ≤ ky < stop of each segment saw the head moved by its pose (world mm: x ↦ R x + t "
    "about the grid centre, R = Rz·Ry·Rx); the segment holding the k-space centre is unmoved",
    BAD_MASK: "the provided brain mask of that session is wrong (kind: eroded_side or includes_scalp); images are fine",
}


def defect_kinds(n_subjects: int, rng: np.random.Generator) -> dict[int, str]:
    """Subject index (1-based) → defect kind; about a quarter each get slice offsets and misalignment."""
    counts = {
        SLICE_OFFSET: max(1, round(n_subjects / 4)),
        MISALIGNMENT: max(1, round(n_subjects / 4)),
        MOTION: max(1, round(n_subjects / 8)),
        BAD_MASK: max(1, round(n_subjects / 8)),
    }
    kinds: list[str] = []
    while any(counts.values()):  # round-robin so few subjects still get one of each kind
        for kind in counts:
            if counts[kind]:
                kinds.append(kind)
                counts[kind] -= 1
    eligible = list(range(CLEAN_SUBJECTS + 1, n_subjects + 1))
    kinds = kinds[: len(eligible)]
    chosen = rng.permutation(eligible)[: len(kinds)]
    return {int(s): kind for s, kind in zip(chosen, kinds, strict=True)}


def brain_slice_range(mask: np.ndarray) -> tuple[int, int]:
    """[lo, hi) slices whose brain area is at least 30% of the largest brain slice."""
    area = mask.sum(axis=(0, 1))
    slices = np.flatnonzero(area >= 0.3 * area.max())
    return int(slices[0]), int(slices[-1]) + 1


def _slice_run(lo: int, hi: int, rng: np.random.Generator, margin_lo: int = 0, margin_hi: int = 0):
    """A run of 4–8 slices inside [lo + margin_lo, hi - margin_hi), shortened if the brain is small."""
    room = hi - lo - margin_lo - margin_hi
    length = int(min(rng.integers(4, 9), max(room, 1)))
    start = lo + margin_lo + int(rng.integers(0, max(room - length, 0) + 1))
    return start, start + length


def _signed(rng: np.random.Generator, low: float, high: float) -> list[float]:
    """Three values of magnitude in [low, high) with random signs."""
    return np.round(rng.choice([-1.0, 1.0], 3) * rng.uniform(low, high, 3), 2).tolist()


def _draw_motion(n_lines: int, rng: np.random.Generator) -> dict:
    """A still centre of k-space (the reference) and 2–4 moved segments in the outer lines."""
    half = max(1, n_lines // 12)
    centre = (n_lines // 2 - half, n_lines // 2 + half)
    outer = [*range(2, centre[0] - 1), *range(centre[1] + 2, n_lines - 1)]
    cuts = rng.choice(outer, size=min(int(rng.integers(0, 3)), len(outer)), replace=False).tolist()
    edges = sorted({0, *centre, *cuts, n_lines})
    segments = []
    for start, stop in zip(edges[:-1], edges[1:], strict=True):
        still = {"rotation_deg": [0.0] * 3, "translation_mm": [0.0] * 3}
        moved = {"rotation_deg": _signed(rng, 2.0, 6.0), "translation_mm": _signed(rng, 3.0, 8.0)}
        segments.append({"start": int(start), "stop": int(stop), **(still if start == centre[0] else moved)})
    session, contrast = f"ses-{rng.choice(FIELDS)}", str(rng.choice(CONTRASTS))
    return {"session": session, "contrast": contrast, "phase_encode_axis": 1, "segments": segments}


def draw_defect(kind: str, mask: np.ndarray, rng: np.random.Generator) -> dict:
    """Parameters of one subject's defect, placed in the brain slices of its (7T) brain `mask`."""
    lo, hi = brain_slice_range(mask)
    if kind == SLICE_OFFSET:
        magnitude = min(int(rng.integers(2, 5)), max(1, (hi - lo) // 3))  # tiny volumes: keep source in brain
        shift = int(rng.choice([-1, 1]) * magnitude)
        start, stop = _slice_run(lo, hi, rng, max(0, -shift), max(0, shift))
        return {"kind": kind, "session": "ses-7T", "start": start, "stop": stop, "shift": shift}
    if kind == MISALIGNMENT:
        start, stop = _slice_run(lo, hi, rng)
        dx, dy = (int(rng.choice([-1, 1]) * rng.integers(2, 5)) for _ in range(2))
        return {"kind": kind, "session": "ses-7T", "start": start, "stop": stop, "dx": dx, "dy": dy}
    if kind == MOTION:
        return {"kind": kind, **_draw_motion(mask.shape[1], rng)}
    if kind == BAD_MASK:
        defect = {"kind": kind, "session": f"ses-{rng.choice(FIELDS)}"}
        defect["mask_kind"] = str(rng.choice(["eroded_side", "includes_scalp"]))
        side = str(rng.choice(["left", "right"]))
        return {**defect, "side": side} if defect["mask_kind"] == "eroded_side" else defect
    raise ValueError(f"unknown defect kind {kind!r}")


def motion_segments(defect: dict) -> list[tuple[int, int, np.ndarray]]:
    return [
        (s["start"], s["stop"], rigid_matrix(s["rotation_deg"], s["translation_mm"]))
        for s in defect["segments"]
    ]


def apply_slice_defect(volume: np.ndarray, defect: dict | None) -> np.ndarray:
    """The volume with a slice-offset or in-plane misalignment defect applied (others pass through)."""
    if defect is None or defect["kind"] not in (SLICE_OFFSET, MISALIGNMENT):
        return volume
    out = volume.copy()
    start, stop = defect["start"], defect["stop"]
    if defect["kind"] == SLICE_OFFSET:
        out[:, :, start:stop] = volume[:, :, start + defect["shift"] : stop + defect["shift"]]
    else:
        block = np.zeros_like(volume[:, :, start:stop])
        dx, dy = defect["dx"], defect["dy"]
        nx, ny = volume.shape[:2]
        block[max(dx, 0) : nx + min(dx, 0), max(dy, 0) : ny + min(dy, 0)] = volume[
            max(-dx, 0) : nx + min(-dx, 0), max(-dy, 0) : ny + min(-dy, 0), start:stop
        ]
        out[:, :, start:stop] = block
    return out


def corrupt_mask(mask: np.ndarray, head: np.ndarray, defect: dict, voxel_mm: float) -> np.ndarray:
    """A badly wrong brain mask: one side cut away and eroded, or grown over skull and scalp."""
    if defect["mask_kind"] == "includes_scalp":
        grown = ndi.binary_dilation(mask, iterations=max(1, round(12.0 / voxel_mm)))
        return (grown & head).astype(np.uint8)
    eroded = ndi.binary_erosion(mask, iterations=max(1, round(5.0 / voxel_mm)))
    xs = np.flatnonzero(mask.any(axis=(1, 2)))
    centre, half_width = (xs[0] + xs[-1]) / 2, (xs[-1] - xs[0]) / 2
    x = np.arange(mask.shape[0])[:, None, None]
    # RAS: left is low x; keep only the inner 35% of the chosen hemisphere
    keep = x > centre - 0.35 * half_width if defect["side"] == "left" else x < centre + 0.35 * half_width
    return (eroded & keep).astype(np.uint8)
