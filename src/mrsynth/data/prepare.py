"""Run the cached data stages for a spec: subject table → preprocess (per subject) → slices + QC metrics (per subject)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from mrsynth.cache import CacheStore
from mrsynth.data.layouts import subject_table
from mrsynth.data.preprocessed import header_problems, load_subject, preprocess_subjects
from mrsynth.data.slice_set import SPLITS, SliceSet
from mrsynth.data.slices import build_slices
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
    store: CacheStore  # the cache these entries live in; later stages (motion scores) build into it too
    built: list[tuple[str, str]] = field(default_factory=list)  # (stage, key) built by this call

    def subject_volumes(self, subject: str):
        """A subject's cached preprocessed volumes (SubjectVolumes: every array, memory-mapped, and its facts)."""
        return load_subject(self.store, subject, self.preprocess_keys[subject])

    def volumes(self, subject: str):
        """(source, target, intersection) volumes of a subject, memory-mapped from the cache (for figures)."""
        volumes = self.subject_volumes(subject)
        return volumes.array("source"), volumes.array("target"), volumes.array("intersection")

    def cache_keys(self) -> dict[str, object]:
        return {"preprocess": dict(self.preprocess_keys), "slices": self.slices.keys()}


def require_split(data: PreparedData) -> None:
    """Training needs a subject in every split; preprocess and qc work on any number of subjects."""
    counts = {split: len(data.slices.subjects(split)) for split in SPLITS}
    if any(n == 0 for n in counts.values()):
        given = ", ".join(f"{split}: {n}" for split, n in counts.items())
        usable = len(data.preprocess_keys)
        need = f"; a random split needs at least {MIN_SUBJECTS} usable subjects (have {usable})" if usable < MIN_SUBJECTS else ""
        raise DataError(f"a run needs at least one subject in each split; data.split gives {given}{need}")


def _fail_or_skip(problems: dict[str, str], policy: str) -> None:
    if problems and policy == "error":
        lines = [msg if msg.startswith("subject ") else f"subject {s}: {msg}" for s, msg in sorted(problems.items())]
        lines[-1] += " (set data.on_bad_subject to \"skip\" to leave such subjects out)"  # one line per subject
        raise DataError("\n".join(lines))


def prepare_data(loaded: LoadedSpec, store: CacheStore | None = None, workers: int | None = None, progress: bool = True) -> PreparedData:
    data = loaded.experiment.data
    store = store or CacheStore(cache_dir())
    first_build = len(store.builds)
    table = subject_table(data.dataset, loaded.base_dir)
    skipped = {**dict(table.problems), **header_problems(table.subjects, data.preprocess)}
    _fail_or_skip(skipped, data.on_bad_subject)
    usable = tuple(f for f in table.subjects if f.subject not in skipped)
    outcome = preprocess_subjects(usable, data.preprocess, store, workers, progress)
    _fail_or_skip(outcome.errors, data.on_bad_subject)
    skipped.update(outcome.errors)
    if not outcome.keys:
        raise DataError("no usable subject: every subject was skipped")
    volumes = [load_subject(store, s, k) for s, k in outcome.keys.items()]
    slices = build_slices(store, volumes, data.split, data.slicing, data.qc.max_offset, data.qc.bins)
    kept_prints = {s: outcome.fingerprints[s] for s in outcome.keys}
    fingerprint = hashlib.sha256(canonical_json(kept_prints).encode()).hexdigest()
    return PreparedData(slices, outcome.keys, dict(sorted(skipped.items())), fingerprint, store, store.builds[first_build:])
