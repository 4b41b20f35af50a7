"""What a dataset lists: each subject's source/target pair (translation) or each volume (motion QC)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


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


def table_of(results: Iterable[tuple[str, SubjectFiles | str]]) -> SubjectTable:
    """(subject, its files or why they do not make a pair) in order, as pairs and problems."""
    results = list(results)
    return SubjectTable(tuple(r for _, r in results if not isinstance(r, str)),
                        tuple((s, r) for s, r in results if isinstance(r, str)))


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
