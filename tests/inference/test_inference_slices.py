"""2D generators: a stack of slices in batches, and a whole volume slice by slice with its plane padded and cut back."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mrsynth.inference.slices import predict_slices, predict_volume_by_slices


class OnlyMultiples(nn.Module):
    """An identity 1x1 convolution that refuses planes whose sides are not multiples of `multiple`."""

    def __init__(self, multiple: int):
        super().__init__()
        self.multiple = multiple
        self.conv = nn.Conv2d(1, 1, 1)
        nn.init.ones_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[-2] % self.multiple == 0 and x.shape[-1] % self.multiple == 0, tuple(x.shape)
        return self.conv(x)


def test_batches_give_what_one_pass_gives_in_eval_mode_and_the_mode_is_restored():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.Conv2d(2, 1, 1))
    stack = np.random.default_rng(0).uniform(-1, 1, (7, 12, 10)).astype(np.float32)
    net.train()
    preds = predict_slices(net, stack, torch.device("cpu"), batch_size=3)
    assert net.training and preds.shape == stack.shape and preds.dtype == np.float32
    with torch.no_grad():
        whole = net.eval()(torch.from_numpy(stack)[:, None])[:, 0].numpy()
    np.testing.assert_allclose(preds, whole, atol=1e-6)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_volume_planes_are_padded_to_the_size_multiple_and_cut_back(axis):
    volume = np.random.default_rng(1).uniform(-1, 1, (9, 6, 11)).astype(np.float32)
    out = predict_volume_by_slices(OnlyMultiples(4), volume, axis, size_multiple=4, batch_size=4)
    np.testing.assert_array_equal(out, volume)
