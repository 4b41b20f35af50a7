"""Dataset readers keyed by `data.dataset.kind`, one row per layout, used by both experiment kinds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

from mrsynth.data.bids import bids_table, bids_volumes
from mrsynth.data.ingest import SubjectTable, VolumeFile
from mrsynth.data.manifest import manifest_table, manifest_volumes
from mrsynth.errors import DataError
from mrsynth.spec.data import Dataset
from mrsynth.spec.motion import MotionDataset


@dataclass(frozen=True)
class DatasetReader:
    location: Callable[[Any], str]  # the spec field naming the dataset (root folder or CSV), relative to the spec
    pairs: Callable[[Any, Path], SubjectTable]  # translation: source/target pairs per subject
    volumes: Callable[[Any, Path], list[VolumeFile]]  # motion QC: every volume


DATASET_READERS = {
    "bids": DatasetReader(attrgetter("root"), bids_table, bids_volumes),
    "manifest": DatasetReader(attrgetter("csv"), manifest_table, manifest_volumes),
}


def _located(dataset: Dataset | MotionDataset, base_dir: Path) -> tuple[DatasetReader, Path]:
    reader = DATASET_READERS[dataset.kind]
    return reader, (base_dir / reader.location(dataset)).resolve()


def subject_table(dataset: Dataset, base_dir: Path) -> SubjectTable:
    """Subjects with complete pairs, plus the problems of those without; never silently drops one."""
    reader, where = _located(dataset, base_dir)
    return reader.pairs(dataset, where)


def volume_table(dataset: MotionDataset, base_dir: Path) -> list[VolumeFile]:
    """Every volume of the dataset, in subject order; raises DataError when there is none."""
    reader, where = _located(dataset, base_dir)
    volumes = reader.volumes(dataset, where)
    if not volumes:
        raise DataError("no volumes found (check data.dataset)", path=reader.location(dataset))
    return volumes
