"""Stage 1: one cache entry per subject holding its preprocessed, co-registered, normalised volumes."""

from __future__ import annotations

import functools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mrsynth.cache import CacheStore, file_fingerprint, stage_key
from mrsynth.children import die_with_parent
from mrsynth.data.ingest import SubjectFiles
from mrsynth.errors import DataError
from mrsynth.spec.preprocess import PreprocessSpec

STAGE = "preprocess"
VERSION = 1
ARRAYS = ("source", "target", "source_mask", "target_mask", "intersection")


@dataclass(frozen=True)
class SubjectVolumes:
    """A subject's cached volumes, memory-mapped."""

    subject: str
    key: str
    path: Path
    facts: dict[str, Any]

    def array(self, name: str) -> np.ndarray:
        return np.load(self.path / f"{name}.npy", mmap_mode="r")

    @property
    def affine(self) -> np.ndarray:
        return np.asarray(self.facts["affine"], dtype=np.float64)


def fingerprints(files: SubjectFiles, spec: PreprocessSpec) -> dict[str, str]:
    """Fingerprints of the files this subject's preprocessing reads (masks only when they are used)."""
    paths = files.paths()
    if spec.skull_strip.kind != "provided":
        paths = {k: v for k, v in paths.items() if not k.endswith("_mask")}
    try:
        return {role: file_fingerprint(path) for role, path in sorted(paths.items())}
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", subject=files.subject, path=exc.filename) from None


def header_problems(subjects: tuple[SubjectFiles, ...], spec: PreprocessSpec) -> dict[str, str]:
    """subject -> why one of its files cannot be used, from the headers alone (no voxel is read)."""
    from mrsynth.preprocess.volumes import check_header

    problems = {}
    for files in subjects:
        paths = files.paths() if spec.skull_strip.kind == "provided" else {"source": files.source, "target": files.target}
        try:
            for path in paths.values():
                check_header(files.subject, path)
        except DataError as exc:
            problems[files.subject] = str(exc)
    return problems


def preprocess_key(fingerprint: dict[str, str], spec: PreprocessSpec) -> str:
    inputs = {"fingerprints": fingerprint, "preprocess": spec.model_dump(mode="json"), **model_versions(spec)}
    return stage_key(STAGE, VERSION, inputs)


def model_versions(spec: PreprocessSpec) -> dict[str, str]:
    """Versions of packages whose shipped weights make this spec's masks; empty, so other keys stay as they were."""
    if spec.skull_strip.kind != "deepbet":
        return {}
    from mrsynth.preprocess.deepbet_strip import deepbet_version

    return {"deepbet": deepbet_version()}


def _write_pair(files: SubjectFiles, spec: PreprocessSpec, out: Path) -> dict[str, Any]:
    from mrsynth.preprocess.pipeline import prepare_pair

    pair = prepare_pair(files.subject, files.source, files.target, files.source_mask, files.target_mask, spec)
    for name in ARRAYS:
        array = getattr(pair, name)
        np.save(out / f"{name}.npy", array.astype(np.float32 if name in ("source", "target") else np.uint8))
    return {
        "subject": files.subject,
        "shape": list(pair.target.shape),
        "affine": np.asarray(pair.affine).tolist(),
        "source_scale": list(map(float, pair.source_scale)),
        "target_scale": list(map(float, pair.target_scale)),
        "transform": None if pair.transform is None else np.asarray(pair.transform).tolist(),
        "info": _jsonable(pair.info),
        "files": {k: str(v) for k, v in files.paths().items()},
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def build_subject(root: str, files: SubjectFiles, key: str, spec_json: dict[str, Any], threads: int) -> str | None:
    """Worker: build one entry; the error text, or None. Errors come back as text so one bad subject cannot kill the pool."""
    from mrsynth.preprocess.threads import limit_ants_threads

    limit_ants_threads(threads)
    spec = PreprocessSpec.model_validate(spec_json)
    try:
        CacheStore(Path(root)).get_or_build(STAGE, key, lambda out: _write_pair(files, spec, out),
                                            {"subject": files.subject, "settings": {"preprocess": spec_json}})
    except DataError as exc:
        return str(exc)
    except OSError as exc:
        return str(DataError(f"cannot read or write: {exc}", subject=files.subject))
    return None


def default_workers(n_subjects: int) -> int:
    return max(1, min(n_subjects, os.cpu_count() or 1))


@dataclass(frozen=True)
class PreprocessOutcome:
    keys: dict[str, str]  # subject -> cache key, for every subject that preprocessed
    errors: dict[str, str]  # subject -> reason, for every subject that did not
    fingerprints: dict[str, dict[str, str]]  # subject -> role -> sha256 of the file
    built: tuple[str, ...]  # subjects built by this call (the others came from the cache)


def preprocess_subjects(
    subjects: tuple[SubjectFiles, ...], spec: PreprocessSpec, store: CacheStore, workers: int | None = None, progress: bool = True
) -> PreprocessOutcome:
    """Reuse or build every subject's entry; only missing entries start worker processes."""
    from tqdm import tqdm

    prints = {f.subject: fingerprints(f, spec) for f in subjects}
    keys = {f.subject: preprocess_key(prints[f.subject], spec) for f in subjects}
    todo = [f for f in subjects if store.get(STAGE, keys[f.subject]) is None]
    errors: dict[str, str] = {}
    workers = min(workers or default_workers(len(todo)), max(1, len(todo)))
    threads = 1  # ANTs is bit-reproducible single-threaded only; parallelism comes from the subject processes
    spec_json = spec.model_dump(mode="json")
    bar = tqdm(total=len(todo), desc="preprocess", unit="subject", disable=not progress or not todo, leave=False)
    build = functools.partial(build_subject, str(store.root), spec_json=spec_json, threads=threads)
    if workers == 1:
        errors = _collect(((f, build(f, keys[f.subject])) for f in todo), bar)
    else:
        errors = _collect(_build_in_pool(todo, keys, build, workers), bar)
    bar.close()
    built = tuple(sorted(f.subject for f in todo if f.subject not in errors))
    store.builds.extend((STAGE, keys[s]) for s in built)
    good = {s: k for s, k in sorted(keys.items()) if s not in errors}
    return PreprocessOutcome(good, dict(sorted(errors.items())), prints, built)


def _pool(workers: int) -> ProcessPoolExecutor:
    # spawn: a process forked after ITK started its threads ignores the thread setting and may hang
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=die_with_parent, initargs=(os.getpid(),))


def _build_in_pool(todo, keys: dict[str, str], build: functools.partial, workers: int):
    """(files, error) per subject. A worker that dies (OOM killer, segfault) breaks the whole pool and every
    unfinished subject with it: those are rebuilt one process each, so only a subject that kills its own
    process fails, and the error names it."""
    orphaned = []
    with _pool(workers) as pool:
        futures = {pool.submit(build, f, keys[f.subject]): f for f in todo}
        for done in as_completed(futures):
            try:
                yield futures[done], done.result()
            except BrokenProcessPool:
                orphaned.append(futures[done])
    for files in orphaned:
        with _pool(1) as alone:
            try:
                yield files, alone.submit(build, files, keys[files.subject]).result()
            except BrokenProcessPool:
                yield files, str(DataError("the process preprocessing this subject died (killed by a signal, often the "
                                           "out-of-memory killer: try fewer --workers)", subject=files.subject,
                                           path=str(files.source)))


def _collect(outcomes, bar) -> dict[str, str]:
    errors = {}
    for files, error in outcomes:
        if error:
            errors[files.subject] = error
        bar.update(1)
    return errors


def load_subject(store: CacheStore, subject: str, key: str) -> SubjectVolumes:
    entry = store.get(STAGE, key)
    if entry is None:
        raise DataError(f"preprocessed entry {key[:12]} is missing from the cache", subject=subject)
    return SubjectVolumes(subject, key, entry.path, entry.manifest["facts"])
