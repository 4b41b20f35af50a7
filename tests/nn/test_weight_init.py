from __future__ import annotations

import pytest
import torch
from torch import nn

from mrsynth.nn import PatchDiscriminator, UNetGenerator, count_parameters, init_weights


def test_normal_init_statistics():
    torch.manual_seed(0)
    net = init_weights(PatchDiscriminator(base_width=16, norm="batch"), "normal", 0.02)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert weights.mean().abs() < 1e-3
    assert weights.std().item() == pytest.approx(0.02, rel=0.05)
    assert all(m.bias is None or torch.all(m.bias == 0) for m in convs)
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    scales = torch.cat([m.weight.flatten() for m in norms])
    assert scales.mean().item() == pytest.approx(1.0, abs=0.01)
    assert torch.all(torch.cat([m.bias for m in norms]) == 0)


@pytest.mark.parametrize("kind", ["xavier", "kaiming", "orthogonal"])
def test_other_kinds_change_weights(kind):
    torch.manual_seed(0)
    net = UNetGenerator(depth=3, base_width=8)
    before = [p.clone() for p in net.parameters()]
    init_weights(net, kind)
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_unknown_kind_is_named():
    with pytest.raises(ValueError, match="init kind"):
        init_weights(nn.Conv2d(1, 1, 3), "uniform")


def test_count_parameters_by_hand():
    conv = nn.Conv2d(2, 3, kernel_size=4)  # 2*3*16 weights + 3 biases
    assert count_parameters(conv) == 99
    conv.bias.requires_grad_(False)
    assert count_parameters(conv, trainable_only=True) == 96
