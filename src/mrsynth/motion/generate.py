"""Cached synthetic-motion samples: one cache entry per source volume, keyed by its content and the motion spec.

Stage `motion_input` (see volumes.py) holds each volume on the network's grid; stage `motion_volumes`
holds `samples_per_volume` corrupted samples of it (float16), their scores and drawn parameters. The key
hashes the input entry's key, the whole `motion` section and a version, so changing only training or
model settings reuses every sample, and the same seed gives the same samples.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mrsynth.cache import CacheStore, Entry, file_fingerprint, stage_key
from mrsynth.data.ingest import VolumeFile
from mrsynth.data.layouts import volume_table
from mrsynth.data.slices import split_subjects
from mrsynth.errors import DataError
from mrsynth.fsutil import atomic_write_json
from mrsynth.motion.simulate import generate_sample, sample_rng
from mrsynth.motion.volumes import cached_input, excluded_ids, require_file
from mrsynth.paths import cache_dir
from mrsynth.spec.experiment import canonical_json
from mrsynth.spec.motion import MotionSpec

STAGE = "motion_volumes"
VERSION = 1


def generation_key(input_key: str, motion: MotionSpec) -> str:
    return stage_key(STAGE, VERSION, {"input": input_key, "motion": motion.model_dump(mode="json")})


def _build_samples(array: np.ndarray, voxel: np.ndarray, motion: MotionSpec, fingerprint: str, out: Path) -> dict:
    samples = np.empty((motion.samples_per_volume, *array.shape), dtype=np.float16)
    scores = np.empty(motion.samples_per_volume, dtype=np.float64)
    params = []
    for index in range(motion.samples_per_volume):
        sample, score, drawn = generate_sample(array, voxel, motion, sample_rng(motion.seed, fingerprint, index))
        samples[index], scores[index] = sample, score
        params.append(drawn)
    np.save(out / "samples.npy", samples)
    np.save(out / "scores.npy", scores)
    atomic_write_json(out / "params.json", params)
    return {"scores": [round(float(s), 4) for s in scores]}


@dataclass
class MotionData:
    """The study's volumes, their split and their cached inputs and samples."""

    volumes: list[VolumeFile]
    split_of: dict[str, str]  # subject -> train | val | test
    excluded: set[str]  # volume ids left out of pretraining
    fingerprints: dict[str, str]  # volume id -> sha256 of the file
    inputs: dict[str, tuple[str, np.ndarray, np.ndarray]]  # volume id -> (key, input array, voxel mm)
    samples: dict[str, Entry] = field(default_factory=dict)  # volume id -> generated entry (not excluded)

    def split_volumes(self, split: str) -> list[VolumeFile]:
        return [v for v in self.volumes if self.split_of[v.subject] == split and v.id in self.samples]

    def arrays(self, split: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(N, 1, *shape) float32 samples, (N,) scores and the volume id of each sample."""
        chosen = self.split_volumes(split)
        if not chosen:
            return np.zeros((0, 1, 1, 1, 1), np.float32), np.zeros(0), []
        x = np.concatenate([np.load(self.samples[v.id].path / "samples.npy") for v in chosen]).astype(np.float32)
        y = np.concatenate([np.load(self.samples[v.id].path / "scores.npy") for v in chosen])
        ids = [v.id for v in chosen for _ in range(len(np.load(self.samples[v.id].path / "scores.npy", mmap_mode="r")))]
        return x[:, None], y, ids

    def cache_keys(self) -> dict[str, dict[str, str]]:
        return {"motion_input": {i: key for i, (key, _, _) in sorted(self.inputs.items())},
                STAGE: {i: e.key for i, e in sorted(self.samples.items())}}

    @property
    def data_fingerprint(self) -> str:
        return hashlib.sha256(canonical_json(dict(sorted(self.fingerprints.items()))).encode()).hexdigest()


def prepare_motion_data(loaded, store: CacheStore | None = None, progress: bool = True) -> MotionData:
    """Find the volumes, split the subjects, and build or reuse every input and sample entry."""
    from tqdm import tqdm

    exp = loaded.experiment
    store = store or CacheStore(cache_dir())
    volumes = volume_table(exp.data.dataset, loaded.base_dir)
    excluded = set()
    if exp.data.exclude:
        excluded = excluded_ids(require_file(loaded.resolve_path(exp.data.exclude), "data.exclude"), exp.data.exclude_labels, volumes)
    subjects = sorted({v.subject for v in volumes})
    if len(subjects) < 3:
        raise DataError(f"only {len(subjects)} subject(s); a train/val/test split needs at least 3")
    try:
        prints = {v.id: file_fingerprint(v.path) for v in volumes}
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", path=exc.filename) from None
    data = MotionData(volumes, split_subjects(subjects, exp.data.split), excluded, prints, {})
    for volume in tqdm(volumes, desc="motion samples", unit="volume", disable=not progress, leave=False):
        key, array, voxel = cached_input(store, volume, exp.data.shape, prints[volume.id])
        data.inputs[volume.id] = (key, array, voxel)
        if volume.id in excluded:
            continue
        build = lambda out, a=array, v=voxel, f=prints[volume.id]: _build_samples(a, v, exp.motion, f, out)  # noqa: E731
        data.samples[volume.id] = store.get_or_build(STAGE, generation_key(key, exp.motion), build, {"volume": volume.id})
    return data


def motion_cache_keys(loaded) -> set[str]:
    """Input and sample cache keys a motion spec resolves to, computed without building (for `cache gc`)."""
    from mrsynth.motion.volumes import input_key

    exp = loaded.experiment
    keys: set[str] = set()
    for volume in volume_table(exp.data.dataset, loaded.base_dir):
        key = input_key(file_fingerprint(volume.path), exp.data.shape)
        keys |= {key, generation_key(key, exp.motion)}
    return keys
