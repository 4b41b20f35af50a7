"""PatchGAN discriminators: a map of real/fake logits, one per overlapping input patch."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mrsynth.nn.norm import check_norm, norm_layer


def _conv_block(in_ch: int, out_ch: int, stride: int, norm: str) -> list[nn.Module]:
    """Conv 4x4 (padding 1), optional norm, LeakyReLU(0.2)."""
    return [
        nn.Conv2d(in_ch, out_ch, kernel_size=4, stride=stride, padding=1, bias=norm == "none"),
        norm_layer(norm, out_ch),
        nn.LeakyReLU(0.2, inplace=True),
    ]


def patch_receptive_field(n_layers: int) -> int:
    """Side in pixels of the input patch one output logit sees (70 for n_layers=3, 34 for 2, 142 for 4)."""
    side = 1 + 3 + 3  # the two stride-1 4x4 convs at the end
    for _ in range(n_layers):
        side = 2 * (side - 1) + 4
    return side


class PatchDiscriminator(nn.Module):
    """pix2pix's C64-C128-C256-C512 discriminator, generalised to `n_layers` stride-2 convs.

    Conditional: `in_channels` counts source and target concatenated (2 for one-channel MRI).
    `n_layers` stride-2 blocks (the first without norm), one stride-1 block, then a stride-1 conv
    to one logit channel; widths double from `base_width` up to 8 * base_width. Returns raw
    logits of shape (N, 1, h, w); each sees a patch of `patch_receptive_field(n_layers)` pixels.
    """

    def __init__(self, in_channels: int = 2, base_width: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        check_norm(norm)
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1; got {n_layers}")
        widths = [base_width * min(2**i, 8) for i in range(n_layers + 1)]
        layers = _conv_block(in_channels, widths[0], stride=2, norm="none")
        for i in range(1, n_layers):
            layers += _conv_block(widths[i - 1], widths[i], stride=2, norm=norm)
        layers += _conv_block(widths[n_layers - 1], widths[n_layers], stride=1, norm=norm)
        layers.append(nn.Conv2d(widths[n_layers], 1, kernel_size=4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)
        self.receptive_field = patch_receptive_field(n_layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class MultiScaleDiscriminator(nn.Module):
    """`scales` PatchDiscriminators of one configuration, each with its own weights (pix2pixHD).

    Scale s sees the input average-pooled by 2**s, so coarser scales judge larger structures.
    Returns a list of logit maps, finest first. Keyword arguments go to every PatchDiscriminator.
    """

    def __init__(self, scales: int = 2, **kwargs):
        super().__init__()
        if scales < 1:
            raise ValueError(f"scales must be >= 1; got {scales}")
        self.discriminators = nn.ModuleList(PatchDiscriminator(**kwargs) for _ in range(scales))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = []
        for index, discriminator in enumerate(self.discriminators):
            if index > 0:
                x = F.avg_pool2d(x, kernel_size=2)
            maps.append(discriminator(x))
        return maps
