from __future__ import annotations

import pytest
import torch
from torch import nn

from mrsynth.nn import DilatedFCN, count_parameters, fcn_receptive_field

SMALL = (4, 4, 8, 8, 4, 1)


def _expected_parameters(dims: int, in_channels: int, widths: tuple[int, ...]) -> int:
    """Bias-free convs + batch-norm scale and shift for every layer but the last, which has a bias."""
    kernel = 3**dims
    channels = (in_channels, *widths)
    hidden = sum(channels[i] * channels[i + 1] * kernel + 2 * channels[i + 1] for i in range(len(widths) - 1))
    return hidden + channels[-2] * channels[-1] * kernel + channels[-1]


@pytest.mark.parametrize("dims", [2, 3])
def test_default_parameter_count_matches_formula(dims):
    net = DilatedFCN(dims=dims)
    assert count_parameters(net) == _expected_parameters(dims, 1, (32, 32, 32, 64, 64, 64, 32, 32, 1))


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize(("dims", "shape"), [(2, (2, 1, 21, 30)), (3, (2, 1, 9, 12, 11))])
def test_output_keeps_input_size(dims, shape, residual):
    net = DilatedFCN(dims=dims, widths=SMALL, residual=residual)
    x = torch.randn(*shape)
    assert net(x).shape == x.shape


def test_dilation_is_one_at_both_ends_and_two_inside():
    net = DilatedFCN(widths=SMALL)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [c.dilation[0] for c in convs] == [1, 2, 2, 2, 2, 1]
    assert [c.padding[0] for c in convs] == [c.dilation[0] for c in convs]
    assert not any(isinstance(m, nn.MaxPool2d | nn.AvgPool2d) for m in net.modules())


def test_three_d_uses_3d_layers():
    net = DilatedFCN(dims=3, widths=SMALL)
    assert any(isinstance(m, nn.BatchNorm3d) for m in net.modules())
    assert all(m.kernel_size == (3, 3, 3) for m in net.modules() if isinstance(m, nn.Conv3d))


@pytest.mark.parametrize("dims", [2, 3])
def test_zero_last_layer_with_residual_is_identity(dims):
    torch.manual_seed(0)
    net = DilatedFCN(dims=dims, widths=SMALL, residual=True)
    nn.init.zeros_(net.last.weight)
    nn.init.zeros_(net.last.bias)
    x = torch.randn(2, 1, *(10,) * dims)
    assert torch.equal(net(x), x)
    assert torch.count_nonzero(DilatedFCN(dims=dims, widths=SMALL, residual=False).eval()(x)) > 0


def test_tanh_is_applied_after_the_residual():
    net = DilatedFCN(widths=SMALL, residual=True, final_activation="tanh")
    nn.init.zeros_(net.last.weight)
    nn.init.zeros_(net.last.bias)
    x = 3 * torch.randn(2, 1, 16, 16)
    assert torch.allclose(net(x), torch.tanh(x))


def test_receptive_field_matches_gradient_support():
    torch.manual_seed(0)
    net = DilatedFCN(widths=(4,) * 8 + (1,), norm="none").double()
    x = torch.randn(1, 1, 64, 64, dtype=torch.float64, requires_grad=True)
    net(x)[0, 0, 32, 32].backward()
    support = (x.grad[0, 0] != 0).nonzero()
    side = fcn_receptive_field(9)
    assert side == 1 + 2 * 1 + 7 * 2 * 2 + 2 * 1  # two dilation-1 layers, seven dilation-2 layers
    assert (support.max(0).values - support.min(0).values + 1).tolist() == [side, side]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="residual needs in_channels"):
        DilatedFCN(in_channels=2, residual=True)
    with pytest.raises(ValueError, match="dims"):
        DilatedFCN(dims=1)
    with pytest.raises(ValueError, match="final_activation"):
        DilatedFCN(final_activation="sigmoid")
    with pytest.raises(ValueError, match="widths"):
        DilatedFCN(widths=(1,))
    with pytest.raises(ValueError, match="norm"):
        DilatedFCN(norm="group")
