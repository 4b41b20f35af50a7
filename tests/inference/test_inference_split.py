"""A split's stored slices are predicted the way the spec's generator works: 2D slices, or 3D patches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mrsynth.inference.split import split_predictor
from mrsynth.spec.load import load_spec
from mrsynth_testing import tiny_spec_data


class InputDims(nn.Module):
    """The identity, remembering how many dimensions each batch it saw had."""

    def __init__(self):
        super().__init__()
        self.seen: set[int] = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.add(x.dim())
        return x


@pytest.mark.parametrize("dims", [2, 3])
def test_the_spec_picks_slices_or_patches_and_both_keep_the_stored_layout(dims, prepared_patch3d, tiny_demo, write_spec):
    exp, data = prepared_patch3d
    if dims == 2:
        exp = load_spec(write_spec("unet2d", tiny_spec_data(tiny_demo, "unet2d"))).experiment
    generator = InputDims()
    preds = split_predictor(exp, data, torch.device("cpu"))(generator, "val")
    assert generator.seen == {dims + 2}  # (b, c, h, w) slices or (b, c, x, y, z) patches
    np.testing.assert_array_equal(preds, data.slices.arrays("val")[0])


class Constant(nn.Module):
    """Predicts 0.5 everywhere, background included."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x, 0.5) + 0 * self.weight


@pytest.mark.parametrize("dims", [2, 3])
def test_predictions_hold_the_background_value_outside_the_source_brain(dims, prepared_patch3d, tiny_demo, write_spec):
    """Whole-slice metrics score what a prediction writes: nothing the generator makes outside the brain."""
    exp, data = prepared_patch3d
    if dims == 2:
        exp = load_spec(write_spec("unet2d", tiny_spec_data(tiny_demo, "unet2d"))).experiment
    preds = split_predictor(exp, data, torch.device("cpu"))(Constant(), "test")
    brain = data.slices.arrays("test")[2][:, 0] > 0
    assert brain.any() and (~brain).any()
    np.testing.assert_array_equal(preds, np.where(brain, 0.5, -1.0))
