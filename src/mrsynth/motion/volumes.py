"""The volumes of a motion study: which files, which to leave out, and the network's input grid (cached)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mrsynth.cache import CacheStore, file_fingerprint, stage_key
from mrsynth.data.ingest import bids_stem
from mrsynth.errors import DataError
from mrsynth.spec.motion import MotionBidsDataset, MotionManifestDataset

INPUT_STAGE = "motion_input"
INPUT_VERSION = 1
NIFTI_SUFFIXES = (".nii.gz", ".nii")
UPPER_PERCENTILE = 99.5
CLIP = 2.0


@dataclass(frozen=True)
class VolumeFile:
    subject: str
    path: Path
    session: str | None = None
    suffix: str | None = None

    @property
    def id(self) -> str:
        """BIDS-like name: sub-01_ses-3T_T1w."""
        parts = [f"sub-{self.subject}"] + ([f"ses-{self.session}"] if self.session else [])
        return "_".join(parts + ([self.suffix] if self.suffix else []))


def _bids_volumes(dataset: MotionBidsDataset, root: Path) -> list[VolumeFile]:
    if not root.is_dir():
        raise DataError(f"dataset root not found (data.dataset.root = {dataset.root!r})", path=str(root))
    subjects = sorted(p.name.removeprefix("sub-") for p in root.glob("sub-*") if p.is_dir())
    if dataset.subjects is not None:
        missing = sorted(set(dataset.subjects) - set(subjects))
        if missing:
            raise DataError(f"subjects listed in data.dataset.subjects have no folder: {missing}", path=str(root))
        subjects = [s for s in subjects if s in dataset.subjects]
    found = []
    for subject in subjects:
        for image in dataset.images:
            folder = root / f"sub-{subject}" / (f"ses-{image.session}" if image.session else "") / "anat"
            stem = bids_stem(subject, image)
            path = next((folder / f"{stem}{ext}" for ext in NIFTI_SUFFIXES if (folder / f"{stem}{ext}").is_file()), None)
            if path is not None:
                found.append(VolumeFile(subject, path, image.session, image.suffix))
    return found


def _manifest_volumes(csv_path: Path) -> list[VolumeFile]:
    rows = read_table(csv_path, required=("subject", "path"))
    volumes = []
    for line, row in rows:
        path = csv_path.parent / row["path"]
        if not path.is_file():
            raise DataError(f"line {line}: no such volume {row['path']!r}", path=str(csv_path))
        volumes.append(VolumeFile(row["subject"], path, row.get("session") or None, row.get("suffix") or None))
    return volumes


def volume_table(dataset: MotionBidsDataset | MotionManifestDataset, base_dir: Path) -> list[VolumeFile]:
    """Every volume of the dataset, in subject order; raises DataError when there is none."""
    if dataset.kind == "bids":
        volumes, where = _bids_volumes(dataset, (base_dir / dataset.root).resolve()), dataset.root
    else:
        volumes, where = _manifest_volumes((base_dir / dataset.csv).resolve()), dataset.csv
    if not volumes:
        raise DataError("no volumes found (check data.dataset)", path=str(where))
    return volumes


def _bare(key: str, value: str | None) -> str:
    text = (value or "").strip()
    return text.removeprefix("sub-") if key == "subject" else text.removeprefix("ses-") if key == "session" else text


def read_table(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV; `sub-`/`ses-` prefixes dropped; DataError names a missing column."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            rows = [(i, {k: _bare(k, v) for k, v in row.items() if k}) for i, row in enumerate(reader, start=2)]
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    lacking = sorted(set(required) - columns)
    if lacking:
        raise DataError(f"lacks column(s) {lacking} (has {sorted(columns)})", path=str(path))
    return rows


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
    rows = [row for _, row in read_table(path, required=("subject",))]
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
