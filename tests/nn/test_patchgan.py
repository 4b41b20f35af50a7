from __future__ import annotations

import pytest
import torch

from mrsynth.nn import MultiScaleDiscriminator, PatchDiscriminator, init_weights, patch_receptive_field


def _support_of_one_logit(net: torch.nn.Module, side: int) -> tuple[int, int]:
    """Height and width of the input region whose pixels move the centre output logit."""
    x = torch.randn(1, 2, side, side, dtype=torch.float64, requires_grad=True)
    logits = net(x)
    h, w = logits.shape[-2:]
    logits[0, 0, h // 2, w // 2].backward()
    nonzero = x.grad.abs().sum(dim=(0, 1)) != 0
    rows = nonzero.any(dim=1).nonzero()
    cols = nonzero.any(dim=0).nonzero()
    # the support must be one solid block, not scattered pixels
    assert nonzero.sum() == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def test_receptive_field_is_70_for_three_layers():
    torch.manual_seed(0)
    # eval mode: batch statistics would couple every input pixel to every logit
    net = init_weights(PatchDiscriminator(base_width=8, n_layers=3), "normal", 0.02).double().eval()
    assert _support_of_one_logit(net, 128) == (70, 70)
    assert net.receptive_field == 70


@pytest.mark.parametrize("n_layers", [1, 2])
def test_receptive_field_formula_matches_gradient(n_layers):
    torch.manual_seed(1)
    net = init_weights(PatchDiscriminator(base_width=4, n_layers=n_layers, norm="none"), "normal", 0.02).double()
    side = patch_receptive_field(n_layers)
    assert _support_of_one_logit(net, 128) == (side, side)


def test_output_is_a_logit_map():
    net = PatchDiscriminator(base_width=8)
    out = net(torch.randn(3, 2, 128, 128))
    # three stride-2 convs then two 4x4 stride-1 convs with padding 1: 128 -> 16 -> 15 -> 14
    assert out.shape == (3, 1, 14, 14)
    assert out.min() < 0 < out.max()  # raw logits, no sigmoid


def test_multiscale_returns_one_map_per_scale_at_halved_sides():
    net = MultiScaleDiscriminator(scales=3, base_width=8, norm="instance")
    maps = net(torch.randn(2, 2, 128, 128))
    assert [m.shape[-1] for m in maps] == [14, 6, 2]
    assert len(maps) == 3
    first, second = net.discriminators[0].model[0].weight, net.discriminators[1].model[0].weight
    assert not torch.equal(first, second)  # one network per scale


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="n_layers"):
        PatchDiscriminator(n_layers=0)
    with pytest.raises(ValueError, match="scales"):
        MultiScaleDiscriminator(scales=0)
