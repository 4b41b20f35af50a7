"""The `manifest` dataset layout, and the one CSV reader (manifests, motion exclude and label tables)."""

from __future__ import annotations

import csv
from pathlib import Path

from mrsynth.data.ingest import SubjectFiles, SubjectTable, VolumeFile, table_of
from mrsynth.errors import DataError
from mrsynth.spec.data import ManifestDataset
from mrsynth.spec.motion import MotionManifestDataset

PAIR_COLUMNS = ("subject", "source", "target")
PAIR_FILES = ("source", "target", "source_mask", "target_mask")
VOLUME_COLUMNS = ("subject", "path")


def _header(reader: csv.DictReader, path: Path, required: tuple[str, ...]) -> None:
    lacking = [c for c in required if c not in (reader.fieldnames or ())]
    if lacking:  # never the header itself: the spec may point at any file, and its first line could be a secret
        raise DataError(f"header lacks column(s) {lacking}; the first line must name the columns {list(required)}",
                        path=str(path))


def read_rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of a CSV, values stripped; DataError names the file and never quotes its content."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            _header(reader, path, required)
            return [(line, {k: (v or "").strip() for k, v in row.items() if k}) for line, row in enumerate(reader, start=2)]
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    except (UnicodeDecodeError, csv.Error):
        raise DataError("not a UTF-8 CSV file", path=str(path)) from None


def _bare(key: str, value: str) -> str:
    return value.removeprefix("sub-") if key == "subject" else value.removeprefix("ses-") if key == "session" else value


def read_entity_rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """`read_rows` with the `sub-`/`ses-` prefixes dropped from the subject and session columns."""
    return [(line, {k: _bare(k, v) for k, v in row.items()}) for line, row in read_rows(path, required)]


def _pair(row: dict[str, str], csv_path: Path) -> SubjectFiles | str:
    """The row's files, relative to the CSV's folder, or which of them are missing."""
    paths = {k: csv_path.parent / row[k] for k in PAIR_FILES if row.get(k)}
    missing = [f"{k} {p}" for k, p in paths.items() if not p.is_file()]
    if "source" not in paths or "target" not in paths:
        missing.append("a source and a target path are both required")
    if missing:
        return "missing file(s): " + "; ".join(missing)
    return SubjectFiles(row["subject"], paths["source"], paths["target"], paths.get("source_mask"), paths.get("target_mask"))


def _require_unique_subjects(rows: list[tuple[int, dict[str, str]]], csv_path: Path) -> None:
    seen = set()
    for line, row in rows:
        subject = row["subject"]
        if not subject or subject in seen:
            raise DataError(f"line {line}: {'empty' if not subject else 'duplicate'} subject {subject!r}", path=str(csv_path))
        seen.add(subject)


def manifest_table(dataset: ManifestDataset, csv_path: Path) -> SubjectTable:
    """One subject per row: `subject, source, target` and optional `source_mask, target_mask`."""
    rows = read_rows(csv_path, PAIR_COLUMNS)
    _require_unique_subjects(rows, csv_path)
    return table_of((row["subject"], _pair(row, csv_path)) for _, row in rows)


def manifest_volumes(dataset: MotionManifestDataset, csv_path: Path) -> list[VolumeFile]:
    """One volume per row: `subject, path` and optional `session, suffix`; a missing file is an error."""
    volumes = []
    for line, row in read_entity_rows(csv_path, VOLUME_COLUMNS):
        path = csv_path.parent / row["path"]
        if not path.is_file():
            raise DataError(f"line {line}: no such volume {row['path']!r}", path=str(csv_path))
        volumes.append(VolumeFile(row["subject"], path, row.get("session") or None, row.get("suffix") or None))
    return volumes
