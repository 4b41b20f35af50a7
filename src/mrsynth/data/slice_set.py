"""A dataset's slices: one cache entry per subject, and the split each subject is in."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mrsynth.data.npy_file import NpyFile
from mrsynth.data.row_stack import RowStack
from mrsynth.spec.experiment import canonical_json

SPLITS = ("train", "val", "test")
MASKS = ("source_mask", "target_mask", "intersection")
TABLE = "qc_metrics.csv"
SUBJECT_FACTS = ("preprocess_key", "shape", "affine", "crop_offsets", "source_scale", "target_scale")


@dataclass(frozen=True)
class SubjectSlices:
    """One subject's slices entry: (n, h, w) source and target, (n, 3, h, w) masks, and their QC metrics."""

    subject: str
    key: str
    path: Path
    facts: dict[str, Any]

    def file(self, name: str) -> NpyFile:
        return NpyFile(self.path / f"{name}.npy")

    def table(self) -> pd.DataFrame:
        return pd.read_csv(self.path / TABLE)


@dataclass(frozen=True)
class SliceSet:
    """The slices of a dataset: subject -> entry, subject -> split. A split's rows are its subjects'
    slices, one subject after another in subject order."""

    entries: dict[str, SubjectSlices]
    split_of: dict[str, str]
    axis: int
    size: tuple[int, int]

    def subjects(self, split: str | None = None) -> list[str]:
        return sorted(s for s in self.entries if split in (None, self.split_of[s]))

    def arrays(self, split: str) -> tuple[RowStack, RowStack, RowStack]:
        """(source, target, masks) of a split, read on demand; masks is (n, 3, h, w): source, target, intersection."""
        entries = [self.entries[s] for s in self.subjects(split)]
        layout = {"source": (self.size, np.float32), "target": (self.size, np.float32), "masks": ((3, *self.size), np.uint8)}
        return tuple(RowStack([e.file(name) for e in entries], shape, dtype) for name, (shape, dtype) in layout.items())

    def table(self) -> pd.DataFrame:
        """Every subject's QC metrics with its subject, split and row (its position in the split's arrays)."""
        parts, rows = [], dict.fromkeys(SPLITS, 0)
        for subject in self.subjects():
            split, table = self.split_of[subject], self.entries[subject].table()
            table.insert(0, "split", split)
            table.insert(0, "subject", subject)
            table.insert(2, "row", rows[split] + np.arange(len(table)))
            rows[split] += len(table)
            parts.append(table)
        return pd.concat(parts, ignore_index=True)

    def keys(self) -> dict[str, str]:
        """subject -> its slices entry's cache key."""
        return {s: e.key for s, e in self.entries.items()}

    @cached_property
    def key(self) -> str:
        """What a run trains and is scored on: a digest of each split's entries (not itself an entry)."""
        splits = {split: {s: self.entries[s].key for s in self.subjects(split)} for split in SPLITS}
        return hashlib.sha256(canonical_json(splits).encode()).hexdigest()

    @cached_property
    def facts(self) -> dict[str, Any]:
        """counts per split, axis, size, and per subject: split, preprocess key, volume shape and affine,
        crop offsets, intensity scales."""
        subjects = {s: {"split": self.split_of[s], **{k: e.facts[k] for k in SUBJECT_FACTS}} for s, e in self.entries.items()}
        counts = {split: sum(self.entries[s].facts["count"] for s in self.subjects(split)) for split in SPLITS}
        return {"subjects": subjects, "counts": counts, "axis": self.axis, "size": list(self.size)}
