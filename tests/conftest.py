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


TINY_SHAPE = (32, 32, 24)


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory) -> Path:
    """A 4-subject demo dataset at 32x32x24, generated once per test session."""
    from mrsynth.demo import generate_demo

    root = tmp_path_factory.mktemp("demo") / "demo"
    generate_demo(root, subjects=4, seed=0, shape=TINY_SHAPE)
    return root


def tiny_spec_data(root: Path, name: str = "tiny", **sections) -> dict:
    """A small, fast spec over the tiny demo: 32x32 slices, a depth-3 U-Net, 2 epochs."""
    spec = {
        "name": name,
        "data": {
            "dataset": {"kind": "bids", "root": str(root)},
            "preprocess": {"skull_strip": {"kind": "provided"}, "registration": {"kind": "rigid"}},
            "slicing": {"size": [32, 32]},
        },
        "masking": {"kind": "intersection", "apply_to": ["l1"]},
        "model": {"generator": {"kind": "unet", "depth": 3, "base_width": 8, "max_width": 32},
                  "discriminator": {"kind": "patchgan", "n_layers": 2, "base_width": 8}},
        "train": {"epochs": 2, "decay_epochs": 1, "batch_size": 8, "sample_every": 1},
        "eval": {"every": 1},
    }
    for section, value in sections.items():
        spec[section] = _merge(spec.get(section, {}), value) if isinstance(value, dict) else value
    return spec


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.fixture
def run_env(tmp_path, monkeypatch, isolated_stores):
    """Registry, runs, cache and MLflow store of one test, also for subprocesses."""
    monkeypatch.setenv("MRSYNTH_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("MRSYNTH_CACHE", str(isolated_stores / "cache"))
    return isolated_stores
