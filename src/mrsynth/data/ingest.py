"""The subject table: which files make up each subject's source/target pair."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from mrsynth.errors import DataError
from mrsynth.spec.data import BidsDataset, BidsEntities, ManifestDataset

NIFTI_SUFFIXES = (".nii.gz", ".nii")


@dataclass(frozen=True)
class SubjectFiles:
    subject: str
    source: Path
    target: Path
    source_mask: Path | None = None
    target_mask: Path | None = None

    def paths(self) -> dict[str, Path]:
        named = {"source": self.source, "target": self.target,
                 "source_mask": self.source_mask, "target_mask": self.target_mask}
        return {k: v for k, v in named.items() if v is not None}


@dataclass(frozen=True)
class SubjectTable:
    subjects: tuple[SubjectFiles, ...]
    problems: tuple[tuple[str, str], ...] = ()  # (subject, reason) of subjects that could not be paired


def bids_stem(subject: str, entities: BidsEntities, desc: str | None = None, suffix: str | None = None) -> str:
    parts = [f"sub-{subject}"]
    if entities.session:
        parts.append(f"ses-{entities.session}")
    if entities.acquisition:
        parts.append(f"acq-{entities.acquisition}")
    if entities.run:
        parts.append(f"run-{entities.run}")
    if desc:
        parts.append(f"desc-{desc}")
    parts.append(suffix or entities.suffix)
    return "_".join(parts)


def _anat_dir(root: Path, subject: str, entities: BidsEntities) -> Path:
    folder = root / f"sub-{subject}"
    return (folder / f"ses-{entities.session}" if entities.session else folder) / "anat"


def _find_nifti(folder: Path, stem: str) -> Path | None:
    for suffix in NIFTI_SUFFIXES:
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    return None


def _bids_subjects(dataset: BidsDataset, root: Path) -> list[str]:
    if not root.is_dir():
        raise DataError(f"dataset root not found (data.dataset.root = {dataset.root!r})", path=str(root))
    found = sorted(p.name.removeprefix("sub-") for p in root.glob("sub-*") if p.is_dir())
    if dataset.subjects is None:
        return found
    missing = sorted(set(dataset.subjects) - set(found))
    if missing:
        raise DataError(f"subjects listed in data.dataset.subjects have no folder: {missing}", path=str(root))
    return [s for s in found if s in dataset.subjects]


def bids_table(dataset: BidsDataset, root: Path) -> SubjectTable:
    rows, problems = [], []
    for subject in _bids_subjects(dataset, root):
        files: dict[str, Path | None] = {}
        missing = []
        for role, entities in (("source", dataset.source), ("target", dataset.target)):
            folder, stem = _anat_dir(root, subject, entities), bids_stem(subject, entities)
            files[role] = _find_nifti(folder, stem)
            if files[role] is None:
                missing.append(f"no {role} image {folder / stem}.nii[.gz]")
            if dataset.masks is not None:
                mask_stem = bids_stem(subject, entities, desc="brain", suffix="mask")
                mask_dir = _anat_dir(root / dataset.masks, subject, entities)
                files[f"{role}_mask"] = _find_nifti(mask_dir, mask_stem)
        if missing:
            problems.append((subject, "; ".join(missing)))
            continue
        rows.append(SubjectFiles(subject, files["source"], files["target"], files.get("source_mask"), files.get("target_mask")))
    return SubjectTable(tuple(rows), tuple(problems))


def manifest_table(dataset: ManifestDataset, csv_path: Path) -> SubjectTable:
    try:
        with open(csv_path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            rows = list(reader)
    except OSError as exc:
        raise DataError(f"cannot read manifest: {exc.strerror or exc}", path=str(csv_path)) from None
    lacking = {"subject", "source", "target"} - columns
    if lacking:
        raise DataError(f"manifest lacks column(s) {sorted(lacking)} (has {sorted(columns)})", path=str(csv_path))
    base, seen, subjects, problems = csv_path.parent, set(), [], []
    for line, row in enumerate(rows, start=2):
        subject = (row.get("subject") or "").strip()
        if not subject or subject in seen:
            raise DataError(f"line {line}: {'empty' if not subject else 'duplicate'} subject {subject!r}", path=str(csv_path))
        seen.add(subject)
        paths = {k: base / row[k].strip() for k in ("source", "target", "source_mask", "target_mask") if (row.get(k) or "").strip()}
        missing = [f"{k} {p}" for k, p in paths.items() if not p.is_file()]
        if "source" not in paths or "target" not in paths:
            missing.append("a source and a target path are both required")
        if missing:
            problems.append((subject, "missing file(s): " + "; ".join(missing)))
            continue
        subjects.append(SubjectFiles(subject, paths["source"], paths["target"], paths.get("source_mask"), paths.get("target_mask")))
    return SubjectTable(tuple(subjects), tuple(problems))


def subject_table(dataset: BidsDataset | ManifestDataset, base_dir: Path) -> SubjectTable:
    """Subjects with complete pairs, plus the problems of those without; never silently drops one."""
    if dataset.kind == "bids":
        return bids_table(dataset, (base_dir / dataset.root).resolve())
    return manifest_table(dataset, (base_dir / dataset.csv).resolve())
