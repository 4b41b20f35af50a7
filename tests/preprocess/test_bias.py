"""N4 removes an injected smooth multiplicative bias inside the brain."""

from __future__ import annotations

import numpy as np
import pytest

from mrsynth.preprocess.bias import n4_correct
from mrsynth.spec.preprocess import N4Spec


@pytest.fixture
def biased_head(phantoms):
    image, brain, affine = phantoms.image("t1", skull=False, texture=0.0, noise=0.005)
    index = np.stack(np.meshgrid(*[np.arange(n) for n in image.shape], indexing="ij"), axis=-1)
    world = index @ affine[:3, :3].T + affine[:3, 3]
    labels = phantoms.labels(world)
    white_matter = labels["wm"] & ~labels["ventricle"] & ~labels["lesion"] & labels["brain"]
    # A smooth field varying by about +-30% across the head, as a receive coil gives.
    bias = np.exp(0.3 * world[..., 0] / 25.0 - 0.2 * (world[..., 1] / 30.0) ** 2 + 0.15 * world[..., 2] / 20.0)
    return (image * bias).astype(np.float32), image, brain, white_matter, affine


def _cv(values: np.ndarray) -> float:
    return float(values.std() / values.mean())


@pytest.mark.parametrize("spec", [N4Spec(), N4Spec(shrink_factor=2, iterations=(20, 20))], ids=["default", "light"])
def test_n4_flattens_uniform_tissue(biased_head, spec):
    biased, clean, brain, white_matter, affine = biased_head
    corrected = n4_correct(biased, affine, brain, spec)
    assert _cv(corrected[white_matter]) < 0.5 * _cv(biased[white_matter])
    assert _cv(corrected[white_matter]) < 2.0 * _cv(clean[white_matter]) + 0.02


def test_n4_disabled_returns_input(biased_head):
    biased, _, brain, _, affine = biased_head
    assert n4_correct(biased, affine, brain, N4Spec(enabled=False)) is biased


def test_n4_ignores_non_positive_voxels(biased_head):
    # Negative interpolation undershoot inside the mask must not break the log-domain fit.
    biased, _, brain, white_matter, affine = biased_head
    dented = biased.copy()
    dented[brain & ~white_matter] *= -0.01
    corrected = n4_correct(dented, affine, brain, N4Spec(shrink_factor=2, iterations=(20, 20)))
    assert np.isfinite(corrected).all()
    assert _cv(corrected[white_matter]) < 0.5 * _cv(biased[white_matter])
