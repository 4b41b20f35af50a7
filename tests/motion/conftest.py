from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def phantom() -> np.ndarray:
    """A 32×32×24 non-negative head-like phantom: a bright shell around a textured ellipsoid, zero outside."""
    rng = np.random.default_rng(3)
    x, y, z = np.meshgrid(*(np.linspace(-1, 1, n) for n in (32, 32, 24)), indexing="ij")
    r = np.sqrt((x / 0.8) ** 2 + (y / 0.9) ** 2 + (z / 0.75) ** 2)
    volume = np.where(r < 0.8, 0.5 + 0.2 * np.sin(6 * x) * np.cos(5 * y), 0.0) + np.where((r >= 0.8) & (r < 0.95), 1.0, 0.0)
    return (volume + 0.02 * rng.random(volume.shape)).astype(np.float32)



@pytest.fixture(scope="session")
def motion_demo(tmp_path_factory):
    """A tiny demo with five subjects (the fifth defect kind handed out is k-space motion) and its motion defect."""
    import json

    from mrsynth.demo import generate_demo
    from mrsynth_testing import TINY_SHAPE

    root = tmp_path_factory.mktemp("motion-demo") / "demo"
    generate_demo(root, subjects=5, seed=0, shape=TINY_SHAPE)
    (moved,) = json.loads((root / "ground_truth.json").read_text())["defects"]["motion_corrupted"]
    return root, moved
