"""Per-subject preprocessing: load, skull strip, N4, register source → target, normalise, masks."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mrsynth.errors import DataError
from mrsynth.preprocess.bias import n4_correct
from mrsynth.preprocess.normalise import normalise, robust_scale
from mrsynth.preprocess.register import Grid, mask_dice, register_to_target
from mrsynth.preprocess.skullstrip import brain_mask
from mrsynth.preprocess.volumes import load_volume
from mrsynth.spec.preprocess import NormaliseSpec, PreprocessSpec


@dataclass(frozen=True)
class PreparedPair:
    """A subject's source and target, both in the target grid, normalised to [-1, 1]."""

    source: np.ndarray
    target: np.ndarray
    source_mask: np.ndarray
    target_mask: np.ndarray
    intersection: np.ndarray
    affine: np.ndarray
    target_scale: tuple[float, float]
    source_scale: tuple[float, float]
    transform: np.ndarray | None
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Corrected:
    """One volume after skull strip and N4, in its own (RAS) grid."""

    grid: Grid
    path: Path
    seconds: dict


def prepare_pair(
    subject: str,
    source: Path,
    target: Path,
    source_mask: Path | None,
    target_mask: Path | None,
    spec: PreprocessSpec,
) -> PreparedPair:
    """Preprocess one paired subject; every unusable input raises DataError naming the subject and file."""
    _require_files(subject, source, target, source_mask, target_mask)
    moving = _correct(subject, Path(source), source_mask, spec)
    fixed = _correct(subject, Path(target), target_mask, spec)
    source_scale = _scale(subject, moving, spec.normalise, "source")
    target_scale = _scale(subject, fixed, spec.normalise, "target")
    try:
        registered = register_to_target(moving.grid, fixed.grid, spec.registration)
    except RuntimeError as exc:
        raise DataError(f"registration to {fixed.path.name} failed ({exc})", subject=subject,
                        path=str(moving.path)) from exc
    overlap = mask_dice(registered.mask, fixed.grid.mask)
    if overlap < spec.min_overlap_dice:
        raise DataError(
            f"fields of view of source and target {fixed.path.name} differ more than "
            f"{spec.registration.kind} registration can fix: brain mask Dice {overlap:.3f} < "
            f"min_overlap_dice {spec.min_overlap_dice}",
            subject=subject,
            path=str(moving.path),
        )
    started = time.perf_counter()
    source_array = normalise(registered.image, registered.mask, source_scale, spec.normalise.clip)
    target_array = normalise(fixed.grid.array, fixed.grid.mask, target_scale, spec.normalise.clip)
    info = {
        **registered.info,
        "source_shape": list(moving.grid.array.shape),
        "target_shape": list(fixed.grid.array.shape),
        "seconds_source": moving.seconds,
        "seconds_target": fixed.seconds,
        "seconds_normalise": round(time.perf_counter() - started, 3),
    }
    return PreparedPair(
        source=source_array,
        target=target_array,
        source_mask=registered.mask,
        target_mask=fixed.grid.mask,
        intersection=registered.mask & fixed.grid.mask,
        affine=fixed.grid.affine,
        target_scale=target_scale,
        source_scale=source_scale,
        transform=registered.transform,
        info=info,
    )


def prepare_single(
    subject: str, path: Path, mask: Path | None, spec: PreprocessSpec, role: str = "source"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float]]:
    """One volume in its own RAS grid: (normalised float32 array, bool mask, affine, (lo, hi) scale)."""
    corrected = _correct(subject, Path(path), mask, spec)
    scale = _scale(subject, corrected, spec.normalise, role)
    array = normalise(corrected.grid.array, corrected.grid.mask, scale, spec.normalise.clip)
    return array, corrected.grid.mask, corrected.grid.affine, scale


def _require_files(subject: str, *paths: Path | None) -> None:
    """Fail before any heavy work when an input file is missing."""
    for path in paths:
        if path is not None and not Path(path).is_file():
            raise DataError("file not found", subject=subject, path=str(path))


def _correct(subject: str, path: Path, mask_path: Path | None, spec: PreprocessSpec) -> _Corrected:
    """Load, skull strip and bias-correct one volume, timing each step."""
    clock = time.perf_counter()
    volume = load_volume(subject, path)
    loaded = time.perf_counter()
    mask = brain_mask(subject, volume, spec.skull_strip, Path(mask_path) if mask_path else None)
    stripped = time.perf_counter()
    corrected = n4_correct(volume.array, volume.affine, mask, spec.n4)
    seconds = {
        "load": round(loaded - clock, 3),
        "skull_strip": round(stripped - loaded, 3),
        "n4": round(time.perf_counter() - stripped, 3),
    }
    return _Corrected(grid=Grid(array=corrected, affine=volume.affine, mask=mask), path=path, seconds=seconds)


def _scale(subject: str, volume: _Corrected, spec: NormaliseSpec, role: str) -> tuple[float, float]:
    try:
        return robust_scale(volume.grid.array, volume.grid.mask, spec)
    except ValueError as exc:
        raise DataError(f"cannot normalise the {role} image: {exc}", subject=subject, path=str(volume.path)) from exc
