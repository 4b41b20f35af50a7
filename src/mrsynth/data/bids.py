"""The `bids` dataset layout: `sub-*/[ses-*/]anat/sub-*_[ses-*_]SUFFIX.nii[.gz]`."""

from __future__ import annotations

from pathlib import Path

from mrsynth.data.ingest import SubjectFiles, SubjectTable, VolumeFile, table_of
from mrsynth.errors import DataError
from mrsynth.spec.data import BidsDataset, BidsEntities
from mrsynth.spec.motion import MotionBidsDataset

NIFTI_SUFFIXES = (".nii.gz", ".nii")


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


def image_stem(root: Path, subject: str, entities: BidsEntities, desc: str | None = None,
               suffix: str | None = None) -> Path:
    """Where an image's file lies, without its `.nii[.gz]` extension."""
    folder = root / f"sub-{subject}"
    folder = folder / f"ses-{entities.session}" if entities.session else folder
    return folder / "anat" / bids_stem(subject, entities, desc, suffix)


def find_nifti(stem: Path) -> Path | None:
    return next((p for p in (stem.with_name(stem.name + s) for s in NIFTI_SUFFIXES) if p.is_file()), None)


def bids_subjects(dataset: BidsDataset | MotionBidsDataset, root: Path) -> list[str]:
    """Subject labels with a `sub-*` folder, restricted to `data.dataset.subjects` when it is given."""
    if not root.is_dir():
        raise DataError(f"dataset root not found (data.dataset.root = {dataset.root!r})", path=str(root))
    found = sorted(p.name.removeprefix("sub-") for p in root.glob("sub-*") if p.is_dir())
    if dataset.subjects is None:
        return found
    missing = sorted(set(dataset.subjects) - set(found))
    if missing:
        raise DataError(f"subjects listed in data.dataset.subjects have no folder: {missing}", path=str(root))
    return [s for s in found if s in dataset.subjects]


def _subject_pair(dataset: BidsDataset, root: Path, subject: str) -> SubjectFiles | str:
    """The subject's files, or why they do not make a pair."""
    files: dict[str, Path | None] = {}
    missing = []
    for role, entities in (("source", dataset.source), ("target", dataset.target)):
        stem = image_stem(root, subject, entities)
        files[role] = find_nifti(stem)
        if files[role] is None:
            missing.append(f"no {role} image {stem}.nii[.gz]")
        if dataset.masks is not None:
            files[f"{role}_mask"] = find_nifti(image_stem(root / dataset.masks, subject, entities, "brain", "mask"))
    if missing:
        return "; ".join(missing)
    return SubjectFiles(subject, files["source"], files["target"], files.get("source_mask"), files.get("target_mask"))


def bids_table(dataset: BidsDataset, root: Path) -> SubjectTable:
    return table_of((subject, _subject_pair(dataset, root, subject)) for subject in bids_subjects(dataset, root))


def bids_volumes(dataset: MotionBidsDataset, root: Path) -> list[VolumeFile]:
    """Each listed image of each subject that exists (a subject lacking one simply has fewer volumes)."""
    found = []
    for subject in bids_subjects(dataset, root):
        for image in dataset.images:
            path = find_nifti(image_stem(root, subject, image))
            if path is not None:
                found.append(VolumeFile(subject, path, image.session, image.suffix))
    return found
