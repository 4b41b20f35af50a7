"""3D generators predicted by overlapping patches: a plain volume, then the stored slices of the cached tiny demo."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mrsynth.inference.patches import predict_split_by_patches, predict_volume_3d
from mrsynth.nn import DilatedFCN

SIZE = (12, 12, 12)


def test_predict_volume_3d_pads_small_volumes_and_restores_the_mode():
    volume = np.random.default_rng(0).uniform(-1, 1, (10, 21, 17)).astype(np.float32)
    np.testing.assert_array_equal(predict_volume_3d(nn.Identity(), volume, SIZE, 4), volume)
    net = DilatedFCN(dims=3, widths=[4, 4, 1], residual=True)
    net.train()
    first = predict_volume_3d(net, volume, SIZE, 4)
    assert net.training and first.shape == volume.shape and first.dtype == np.float32
    np.testing.assert_array_equal(first, predict_volume_3d(net, volume, SIZE, 4))
    assert not np.allclose(first, volume)


@pytest.mark.parametrize("size", [(16, 16, 16), (16, 24, 48)])  # 48 > the demo's 32 slices: padded
def test_identity_prediction_reproduces_the_stored_slices(prepared_patch3d, size):
    _, data = prepared_patch3d
    for split in ("train", "val", "test"):
        source = data.slices.arrays(split)[0]
        preds = predict_split_by_patches(nn.Identity(), data, split, "cpu", size, 8)
        assert preds.shape == source.shape and preds.dtype == np.float32
        np.testing.assert_array_equal(preds, source)


def test_split_prediction_is_deterministic_and_keeps_the_mode(prepared_patch3d):
    _, data = prepared_patch3d
    torch.manual_seed(0)
    net = DilatedFCN(dims=3, widths=[4, 4, 1], residual=True, final_activation="tanh")
    net.train()
    first = predict_split_by_patches(net, data, "test", torch.device("cpu"), (16, 16, 16), 16, batch=3)
    second = predict_split_by_patches(net, data, "test", "cpu", (16, 16, 16), 16, batch=5)
    assert net.training
    np.testing.assert_allclose(first, second, atol=1e-6)
    assert not np.allclose(first, data.slices.arrays("test")[0])
