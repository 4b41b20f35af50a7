"""The CycleGAN / NEC ResNet generator (Johnson et al. 2016): downsample, residual blocks, upsample."""

from __future__ import annotations

import torch
from torch import nn

from mrsynth.nn.norm import check_norm, norm_layer
from mrsynth.nn.unet import FINAL_ACTIVATIONS

DOWNSAMPLINGS = 2


def _c7s1(in_ch: int, out_ch: int, bias: bool = True) -> list[nn.Module]:
    """Reflection-padded 7x7 stride-1 conv (the `c7s1-k` block without its norm and activation)."""
    return [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, out_ch, kernel_size=7, bias=bias)]


def _norm_relu(norm: str, channels: int) -> list[nn.Module]:
    return [norm_layer(norm, channels), nn.ReLU(inplace=True)]


def _downsample(in_ch: int, norm: str) -> list[nn.Module]:
    """Conv 3x3 stride 2 doubling the channels (`d2k`)."""
    return [nn.Conv2d(in_ch, 2 * in_ch, kernel_size=3, stride=2, padding=1, bias=norm == "none"),
            *_norm_relu(norm, 2 * in_ch)]


def _upsample(in_ch: int, norm: str) -> list[nn.Module]:
    """Transposed conv 3x3 stride 2 halving the channels and doubling the sides exactly (`uk`)."""
    conv = nn.ConvTranspose2d(in_ch, in_ch // 2, kernel_size=3, stride=2, padding=1, output_padding=1,
                              bias=norm == "none")
    return [conv, *_norm_relu(norm, in_ch // 2)]


class ResidualBlock(nn.Module):
    """x + (pad, conv 3x3, norm, ReLU, pad, conv 3x3, norm); reflection padding avoids border artefacts."""

    def __init__(self, channels: int, norm: str = "instance"):
        super().__init__()
        bias = norm == "none"
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, kernel_size=3, bias=bias),
            norm_layer(norm, channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, kernel_size=3, bias=bias),
            norm_layer(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNetGenerator(nn.Module):
    """c7s1-w, d2w, d4w, `n_blocks` x R4w, u2w, uw, c7s1-out with tanh (w = `base_width`).

    Two stride-2 convs halve the sides twice and two transposed convs restore them, so input
    sides must be divisible by 4. Convs followed by a norm carry no bias (the affine norm has a shift).
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        base_width: int = 64,
        n_blocks: int = 9,
        norm: str = "instance",
        final_activation: str = "tanh",
    ):
        super().__init__()
        check_norm(norm)
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0; got {n_blocks}")
        if final_activation not in FINAL_ACTIVATIONS:
            raise ValueError(f"final_activation must be one of {', '.join(FINAL_ACTIVATIONS)}; got {final_activation!r}")
        layers = [*_c7s1(in_channels, base_width, bias=norm == "none"), *_norm_relu(norm, base_width)]
        width = base_width
        for _ in range(DOWNSAMPLINGS):
            layers += _downsample(width, norm)
            width *= 2
        layers += [ResidualBlock(width, norm) for _ in range(n_blocks)]
        for _ in range(DOWNSAMPLINGS):
            layers += _upsample(width, norm)
            width //= 2
        layers += [*_c7s1(width, out_channels), nn.Tanh() if final_activation == "tanh" else nn.Identity()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2**DOWNSAMPLINGS
        if x.shape[-2] % factor or x.shape[-1] % factor:
            raise ValueError(
                f"ResNetGenerator needs input sides divisible by {factor}; got {x.shape[-2]}x{x.shape[-1]}"
            )
        return self.model(x)
