"""Helpers shared by test modules (a uniquely named module: several test folders have their own conftest)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_MRI = REPO.parent / "shared" / "data" / "mri"
TINY_SHAPE = (40, 40, 32)


def shared_mri(*parts: str) -> Path:
    """A file from ../shared/data/mri, or skip the test when it is absent."""
    path = SHARED_MRI.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real MRI data not available: {path}")
    return path


def touch(path: Path) -> Path:
    """An empty file, parents created: listing a dataset only checks that files exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def tiny_spec_data(root: Path, name: str = "tiny", **sections) -> dict:
    """A small, fast spec over the tiny demo: 40x40 slices, a depth-3 U-Net, 2 epochs."""
    spec = {
        "name": name,
        "data": {
            "dataset": {"kind": "bids", "root": str(root)},
            # 16 metric bins: ~5000 brain voxels of 5.6 mm cannot fill ANTs' default 32 (rigid MI then stalls)
            "preprocess": {"skull_strip": {"kind": "provided"}, "registration": {"kind": "rigid", "bins": 16}},
            "slicing": {"size": [40, 40]},
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


STORE_KEYS = ("MRSYNTH_RUNS", "MRSYNTH_CACHE", "MRSYNTH_REGISTRY", "MLFLOW_TRACKING_URI")


@contextmanager
def stores_under(folder: Path) -> Iterator[dict[str, str]]:
    """Point runs, cache, registry and MLflow at `folder` (for module-scoped fixtures); restore afterwards."""
    values = {"MRSYNTH_RUNS": str(folder / "runs"), "MRSYNTH_CACHE": str(folder / "cache"),
              "MRSYNTH_REGISTRY": str(folder / "registry"), "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}"}
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield values
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
