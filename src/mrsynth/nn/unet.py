"""The pix2pix U-Net generator (Isola et al. 2017, appendix 6.1.1) for 2D slices."""

from __future__ import annotations

import torch
from torch import nn

from mrsynth.nn.norm import check_norm, norm_layer

FINAL_ACTIVATIONS = ("tanh", "none")


def _down_block(in_ch: int, out_ch: int, norm: str) -> nn.Sequential:
    """Conv 4x4 stride 2 (halves the side), optional norm, LeakyReLU(0.2)."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel_size=4, stride=2, padding=1, bias=norm == "none"),
        norm_layer(norm, out_ch),
        nn.LeakyReLU(0.2, inplace=True),
    )


def _up_block(in_ch: int, out_ch: int, norm: str, dropout: float) -> nn.Sequential:
    """Transposed conv 4x4 stride 2 (doubles the side), norm, optional dropout, ReLU."""
    layers: list[nn.Module] = [
        nn.ConvTranspose2d(in_ch, out_ch, kernel_size=4, stride=2, padding=1, bias=norm == "none"),
        norm_layer(norm, out_ch),
    ]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class UNetGenerator(nn.Module):
    """Encoder-decoder with skip connections; output has the input's spatial size.

    `depth` stride-2 levels: input sides must be divisible by 2**depth (depth 8 takes 256x256 to a
    1x1 bottleneck, as pix2pix's unet_256). Widths double per level from `base_width`, capped at
    `max_width`. The first encoder conv and the innermost (bottleneck) conv carry no norm, so batch
    size 1 and instance norm work even at a 1x1 bottleneck. `dropout` is applied in the first
    `dropout_blocks` decoder blocks counted from the bottleneck (pix2pix: 0.5 in three blocks);
    in eval mode dropout is off and the output is deterministic.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        depth: int = 8,
        base_width: int = 64,
        max_width: int = 512,
        norm: str = "batch",
        dropout: float = 0.0,
        dropout_blocks: int = 3,
        final_activation: str = "tanh",
    ):
        super().__init__()
        check_norm(norm)
        if depth < 1:
            raise ValueError(f"depth must be >= 1; got {depth}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}")
        if final_activation not in FINAL_ACTIVATIONS:
            raise ValueError(f"final_activation must be one of {', '.join(FINAL_ACTIVATIONS)}; got {final_activation!r}")
        self.depth = depth
        widths = [min(base_width * 2**level, max_width) for level in range(depth)]
        self.encoder = nn.ModuleList(
            _down_block(in_channels if level == 0 else widths[level - 1], widths[level],
                        "none" if level in (0, depth - 1) else norm)
            for level in range(depth)
        )
        # decoder block k (k=0 at the bottleneck) maps level depth-1-k up to level depth-2-k
        self.decoder = nn.ModuleList(
            _up_block(widths[level] * (1 if level == depth - 1 else 2), widths[level - 1], norm,
                      dropout if depth - 1 - level < dropout_blocks else 0.0)
            for level in range(depth - 1, 0, -1)
        )
        self.head = nn.Sequential(
            nn.ConvTranspose2d(widths[0] * (1 if depth == 1 else 2), out_channels, kernel_size=4, stride=2, padding=1),
            nn.Tanh() if final_activation == "tanh" else nn.Identity(),
        )

    def check_input_size(self, height: int, width: int) -> None:
        """Raise a ValueError naming the sizes unless both sides are divisible by 2**depth."""
        factor = 2**self.depth
        if height % factor or width % factor:
            raise ValueError(
                f"UNetGenerator(depth={self.depth}) needs input sides divisible by {factor}; "
                f"got {height}x{width}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input_size(x.shape[-2], x.shape[-1])
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
        skips.pop()  # the bottleneck feeds the decoder directly, it is not concatenated with itself
        for block in self.decoder:
            x = torch.cat([block(x), skips.pop()], dim=1)
        return self.head(x)
