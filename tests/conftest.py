"""Shared fixtures: every test writes its registry, cache and tracking store under tmp_path, never into the tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MRI = REPO.parent / "shared" / "data" / "mri"


@pytest.fixture(autouse=True)
def isolated_stores(tmp_path_factory, monkeypatch):
    stores = tmp_path_factory.mktemp("stores")
    monkeypatch.setenv("MRSYNTH_REGISTRY", str(stores / "registry"))
    monkeypatch.setenv("MRSYNTH_CACHE", str(stores / "cache"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{stores / 'mlflow.db'}")
    return stores


@pytest.fixture
def write_spec(tmp_path):
    """Write a spec dict as JSON under tmp_path/experiments and return its path."""

    def write(name: str, data: dict, folder: Path | None = None) -> Path:
        folder = folder or tmp_path / "experiments"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.json"
        path.write_text(json.dumps(data, indent=2))
        return path

    return write


def shared_mri(*parts: str) -> Path:
    """A file from ../shared/data/mri, or skip the test when it is absent."""
    path = SHARED_MRI.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real MRI data not available: {path}")
    return path
