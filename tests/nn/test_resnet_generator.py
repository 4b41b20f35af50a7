from __future__ import annotations

import pytest
import torch
from torch import nn

from mrsynth.nn import ResNetGenerator, count_parameters


def _expected_parameters(in_ch: int, out_ch: int, width: int, n_blocks: int) -> int:
    """Bias-free convs before affine instance norms (2 parameters per channel); the output conv has a bias."""
    first = in_ch * width * 49 + 2 * width
    down = (width * 2 * width * 9 + 2 * 2 * width) + (2 * width * 4 * width * 9 + 2 * 4 * width)
    block = 2 * (4 * width * 4 * width * 9 + 2 * 4 * width)
    up = (4 * width * 2 * width * 9 + 2 * 2 * width) + (2 * width * width * 9 + 2 * width)
    last = width * out_ch * 49 + out_ch
    return first + down + n_blocks * block + up + last


@pytest.mark.parametrize("n_blocks", [9, 6])
def test_default_parameter_count_matches_formula(n_blocks):
    count = count_parameters(ResNetGenerator(n_blocks=n_blocks))
    assert count == _expected_parameters(1, 1, 64, n_blocks)
    # 9 blocks: ~11.37M; the often-quoted ~7.8M is the 6-block variant
    assert count == pytest.approx(11.37e6 if n_blocks == 9 else 7.83e6, rel=1e-3)


@pytest.mark.parametrize("shape", [(2, 1, 32, 32), (1, 1, 24, 40)])
def test_output_has_input_shape_and_tanh_range(shape):
    net = ResNetGenerator(base_width=8, n_blocks=2)
    y = net(3 * torch.randn(*shape))
    assert y.shape == shape
    assert y.abs().max() <= 1.0


def test_channels_and_blocks():
    net = ResNetGenerator(in_channels=2, out_channels=3, base_width=8, n_blocks=4, final_activation="none")
    assert net(torch.randn(1, 2, 16, 16)).shape == (1, 3, 16, 16)
    blocks = [m for m in net.modules() if type(m).__name__ == "ResidualBlock"]
    assert len(blocks) == 4
    assert all(isinstance(m, nn.InstanceNorm2d) for m in net.modules() if "Norm" in type(m).__name__)
    assert any(isinstance(m, nn.ReflectionPad2d) for m in blocks[0].modules())


def test_residual_block_with_zero_convs_is_identity():
    net = ResNetGenerator(base_width=4, n_blocks=1)
    block = next(m for m in net.modules() if type(m).__name__ == "ResidualBlock")
    for conv in (m for m in block.modules() if isinstance(m, nn.Conv2d)):
        nn.init.zeros_(conv.weight)
    x = torch.randn(2, 16, 8, 8)
    # zero convs give zero features; the affine instance norm then adds only its shift (0 at init)
    assert torch.allclose(block(x), x)


def test_indivisible_size_names_the_sizes():
    with pytest.raises(ValueError, match="divisible by 4.*30x32"):
        ResNetGenerator(base_width=4, n_blocks=1)(torch.randn(1, 1, 30, 32))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n_blocks"):
        ResNetGenerator(n_blocks=-1)
    with pytest.raises(ValueError, match="norm"):
        ResNetGenerator(norm="layer")
