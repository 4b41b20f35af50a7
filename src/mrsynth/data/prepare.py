"""Run the cached data stages for a spec: subject table → preprocess (per subject) → slices + QC metrics."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from mrsynth.cache import CacheStore
from mrsynth.data.layouts import subject_table
from mrsynth.data.preprocessed import load_subject, preprocess_subjects
from mrsynth.data.slices import SliceSet, build_slices
from mrsynth.errors import DataError
from mrsynth.paths import cache_dir
from mrsynth.spec.experiment import canonical_json
from mrsynth.spec.load import LoadedSpec

MIN_SUBJECTS = 3


@dataclass(frozen=True)
class PreparedData:
    slices: SliceSet
    preprocess_keys: dict[str, str]
    skipped: dict[str, str]  # subject -> why it was left out (on_bad_subject = skip)
    data_fingerprint: str
    built: list[tuple[str, str]] = field(default_factory=list)  # (stage, key) built by this call

    @property
    def store(self) -> CacheStore:
        """The cache these entries live in (the slices entry sits at STORE/stage/key)."""
        return CacheStore(self.slices.path.parent.parent)

    def subject_volumes(self, subject: str):
        """A subject's cached preprocessed volumes (SubjectVolumes: every array, memory-mapped, and its facts)."""
        return load_subject(self.store, subject, self.preprocess_keys[subject])

    def volumes(self, subject: str):
        """(source, target, intersection) volumes of a subject, memory-mapped from the cache (for figures)."""
        volumes = self.subject_volumes(subject)
        return volumes.array("source"), volumes.array("target"), volumes.array("intersection")

    def cache_keys(self) -> dict[str, object]:
        return {"preprocess": dict(self.preprocess_keys), "slices": self.slices.key}


def _fail_or_skip(problems: dict[str, str], policy: str) -> None:
    if problems and policy == "error":
        lines = [msg if msg.startswith("subject ") else f"subject {s}: {msg}" for s, msg in sorted(problems.items())]
        hint = "(set data.on_bad_subject to \"skip\" to leave such subjects out)"
        raise DataError("\n".join([*lines, hint]))


def prepare_data(loaded: LoadedSpec, store: CacheStore | None = None, workers: int | None = None, progress: bool = True) -> PreparedData:
    data = loaded.experiment.data
    store = store or CacheStore(cache_dir())
    first_build = len(store.builds)
    table = subject_table(data.dataset, loaded.base_dir)
    skipped = dict(table.problems)
    _fail_or_skip(skipped, data.on_bad_subject)
    outcome = preprocess_subjects(table.subjects, data.preprocess, store, workers, progress)
    _fail_or_skip(outcome.errors, data.on_bad_subject)
    skipped.update(outcome.errors)
    if len(outcome.keys) < MIN_SUBJECTS:
        raise DataError(f"only {len(outcome.keys)} usable subject(s); a train/val/test split needs at least {MIN_SUBJECTS}")
    volumes = [load_subject(store, s, k) for s, k in outcome.keys.items()]
    slices = build_slices(store, volumes, data.split, data.slicing, data.qc.max_offset, data.qc.bins)
    kept_prints = {s: outcome.fingerprints[s] for s in outcome.keys}
    fingerprint = hashlib.sha256(canonical_json(kept_prints).encode()).hexdigest()
    return PreparedData(slices, outcome.keys, dict(sorted(skipped.items())), fingerprint, store.builds[first_build:])
