from __future__ import annotations

import pytest
import torch
from torch import nn

from mrsynth.nn import UNetGenerator


@pytest.mark.parametrize(("side", "depth"), [(64, 6), (128, 7), (256, 8)])
def test_output_has_input_shape(side, depth):
    net = UNetGenerator(depth=depth, base_width=8, max_width=32)
    x = torch.randn(2, 1, side, side)
    y = net(x)
    assert y.shape == x.shape
    assert y.abs().max() <= 1.0  # tanh head


def test_channels_and_rectangular_input():
    net = UNetGenerator(in_channels=3, out_channels=2, depth=4, base_width=8, final_activation="none")
    y = net(torch.randn(1, 3, 32, 48))
    assert y.shape == (1, 2, 32, 48)


@pytest.mark.parametrize("shape", [(60, 64), (64, 72), (32, 32)])
def test_indivisible_size_names_the_sizes(shape):
    net = UNetGenerator(depth=6, base_width=8)
    with pytest.raises(ValueError, match=rf"divisible by 64.*{shape[0]}x{shape[1]}"):
        net(torch.randn(1, 1, *shape))


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_batch_of_one_with_1x1_bottleneck_trains(norm):
    net = UNetGenerator(depth=6, base_width=8, norm=norm).train()
    x = torch.randn(1, 1, 64, 64)
    y = net(x)
    y.mean().backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert torch.isfinite(y).all()


def test_dropout_only_in_innermost_decoder_blocks():
    net = UNetGenerator(depth=6, base_width=8, dropout=0.5)
    with_dropout = [any(isinstance(m, nn.Dropout) for m in block.modules()) for block in net.decoder]
    assert with_dropout == [True, True, True, False, False]
    assert not any(isinstance(m, nn.Dropout) for m in net.encoder.modules())


def test_dropout_random_in_train_deterministic_in_eval():
    torch.manual_seed(0)
    net = UNetGenerator(depth=4, base_width=8, dropout=0.5)
    x = torch.randn(2, 1, 32, 32)
    net.train()
    assert not torch.equal(net(x), net(x))
    net.eval()
    assert torch.equal(net(x), net(x))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="norm"):
        UNetGenerator(norm="group")
    with pytest.raises(ValueError, match="final_activation"):
        UNetGenerator(final_activation="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        UNetGenerator(dropout=1.5)
