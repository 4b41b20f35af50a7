"""The volumes of a motion study: which to leave out or label, and the network's input grid (cached)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mrsynth.cache import CacheStore, file_fingerprint, stage_key
from mrsynth.data.ingest import VolumeFile
from mrsynth.data.manifest import read_entity_rows
from mrsynth.errors import DataError

INPUT_STAGE = "motion_input"
INPUT_VERSION = 1
UPPER_PERCENTILE = 99.5
CLIP = 2.0


def row_matches(row: dict[str, str], volume: VolumeFile) -> bool:
    """A row names a volume by subject, and by session and suffix when it gives them."""
    return row["subject"] == volume.subject and all(
        not row.get(key) or row[key] == (getattr(volume, key) or "") for key in ("session", "suffix"))


def require_file(path: Path, field: str) -> Path:
    """A spec-named CSV that must exist; the demo's is written by `mrsynth motion-labels`."""
    if not path.is_file():
        raise DataError(f"{field}: no such file (for the demo dataset, `mrsynth motion-labels` writes it)", path=str(path))
    return path


def excluded_ids(path: Path, labels: list[str], volumes: list[VolumeFile]) -> set[str]:
    """Ids of the volumes the exclude CSV names (only rows with one of `labels` when it has a label column)."""
    rows = [row for _, row in read_entity_rows(path, ("subject",))]
    rows = [row for row in rows if "label" not in row or row["label"] in labels]
    return {v.id for v in volumes if any(row_matches(row, v) for row in rows)}


def normalise(volume: np.ndarray) -> np.ndarray:
    """Non-negative, divided by the 99.5th percentile, clipped at 2: contrast-agnostic scale for the network."""
    volume = np.clip(np.nan_to_num(volume.astype(np.float32)), 0.0, None)
    upper = float(np.percentile(volume, UPPER_PERCENTILE))
    return np.clip(volume / upper, 0.0, CLIP) if upper > 0 else volume


def read_input(path: Path, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The volume in RAS orientation resampled (whole field of view) to `shape`, normalised; and its voxel size (mm)."""
    import nibabel as nib
    from scipy import ndimage as ndi

    try:
        image = nib.as_closest_canonical(nib.load(str(path)))
        data = np.asarray(image.dataobj, dtype=np.float32)
    except Exception as exc:  # nibabel raises many types for a broken file
        raise DataError(f"unreadable volume: {exc}", path=str(path)) from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise DataError(f"expected a 3D volume (got shape {data.shape})", path=str(path))
    zoom = [n / m for n, m in zip(shape, data.shape, strict=True)]
    resampled = ndi.zoom(data, zoom, order=1, mode="nearest", grid_mode=True)
    voxel = np.asarray(image.header.get_zooms()[:3], dtype=float) * np.asarray(data.shape) / np.asarray(shape)
    return normalise(resampled), voxel


def input_key(fingerprint: str, shape: tuple[int, int, int]) -> str:
    return stage_key(INPUT_STAGE, INPUT_VERSION, {"fingerprint": fingerprint, "shape": list(shape)})


def cached_input(store: CacheStore, volume: VolumeFile, shape: tuple[int, int, int],
                 fingerprint: str | None = None) -> tuple[str, np.ndarray, np.ndarray]:
    """(cache key, input array, voxel size mm) of a volume, built once per file content and shape."""
    fingerprint = fingerprint or file_fingerprint(volume.path)

    def build(out: Path) -> dict:
        array, voxel = read_input(volume.path, shape)
        np.save(out / "input.npy", array)
        return {"voxel_mm": voxel.tolist(), "source": str(volume.path), "fingerprint": fingerprint}

    entry = store.get_or_build(INPUT_STAGE, input_key(fingerprint, shape), build, {"volume": volume.id})
    facts = entry.manifest["facts"]
    return entry.key, np.load(entry.path / "input.npy"), np.asarray(facts["voxel_mm"], dtype=float)
