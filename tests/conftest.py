"""Shared fixtures: every test writes its registry, cache and tracking store under tmp_path, never into the tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrsynth_testing import TINY_SHAPE


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


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory) -> Path:
    """A 4-subject demo dataset at TINY_SHAPE (40x40x32), generated once per test session."""
    from mrsynth.demo import generate_demo

    root = tmp_path_factory.mktemp("demo") / "demo"
    generate_demo(root, subjects=4, seed=0, shape=TINY_SHAPE)
    return root


@pytest.fixture(scope="session")
def prepared_patch3d(tiny_demo, tmp_path_factory):
    """(experiment, prepared data) of a 3D-patch spec over the tiny demo: a DilatedFCN on 16-voxel cubes."""
    from mrsynth.cache import CacheStore
    from mrsynth.data.prepare import prepare_data
    from mrsynth.spec.load import load_spec
    from mrsynth_testing import tiny_spec_data

    folder = tmp_path_factory.mktemp("patch3d")
    spec = tiny_spec_data(tiny_demo, "patch3d", data={"patches": {"size": [16, 16, 16], "per_subject": 6, "stride": 8}},
                          loss={"adversarial": 0.0})
    spec["model"] = {"generator": {"kind": "dilated_fcn", "widths": [4, 4, 1], "dims": 3}, "discriminator": {"kind": "none"}}
    path = folder / "patch3d.json"
    path.write_text(json.dumps(spec))
    loaded = load_spec(path)
    return loaded.experiment, prepare_data(loaded, CacheStore(folder / "cache"), workers=1, progress=False)


@pytest.fixture
def run_env(tmp_path, monkeypatch, isolated_stores):
    """Registry, runs, cache and MLflow store of one test, also for subprocesses."""
    monkeypatch.setenv("MRSYNTH_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("MRSYNTH_CACHE", str(isolated_stores / "cache"))
    return isolated_stores
