from __future__ import annotations

import pytest
import torch

from mrsynth.nn.sfcn import SFCN


def test_output_is_a_log_distribution_over_bins():
    net = SFCN((4, 8, 8), bins=50, dropout=0.0).eval()
    out = net(torch.rand(3, 1, 16, 16, 12))
    assert out.shape == (3, 50)
    assert torch.allclose(out.exp().sum(dim=1), torch.ones(3), atol=1e-5)


def test_layout_follows_peng_conv_bn_pool_relu_then_1x1():
    net = SFCN((4, 8, 6), bins=10)
    kinds = [type(m).__name__ for m in net.features]
    assert kinds == ["Conv3d", "BatchNorm3d", "MaxPool3d", "ReLU"] * 2 + ["Conv3d", "BatchNorm3d", "ReLU"]
    assert net.features[-3].kernel_size == (1, 1, 1) and net.classifier.kernel_size == (1, 1, 1)


def test_embedding_has_the_last_width_and_ignores_dropout():
    net = SFCN((4, 8, 6), bins=10, dropout=0.9).eval()
    x = torch.rand(2, 1, 16, 16, 16)
    assert net.embed(x).shape == (2, 6)
    assert torch.equal(net.embed(x), net.embed(x))


def test_too_small_input_is_reported():
    net = SFCN((4, 8, 8, 8), bins=10)
    with pytest.raises(ValueError, match=">= 8"):
        net(torch.rand(1, 1, 16, 16, 4))


def test_widths_are_checked():
    with pytest.raises(ValueError):
        SFCN((4,), bins=10)


def test_a_few_steps_fit_a_single_target_distribution():
    torch.manual_seed(0)
    net = SFCN((4, 8, 8), bins=5, dropout=0.0)
    x = torch.rand(4, 1, 8, 8, 8)
    target = torch.tensor([[0.0, 0.0, 0.0, 1.0, 0.0]]).repeat(4, 1)
    optimiser = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(40):
        loss = torch.nn.functional.kl_div(net(x), target, reduction="batchmean")
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    net.eval()
    assert net(x).exp()[:, 3].min() > 0.8
