"""Nie et al.'s fully convolutional generator: dilated convolutions, no pooling, same-size output."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mrsynth.nn.dims import check_dims, conv_type
from mrsynth.nn.norm import check_norm, norm_layer

FCN_FINAL_ACTIVATIONS = ("none", "tanh")
DEFAULT_FCN_WIDTHS = (32, 32, 32, 64, 64, 64, 32, 32, 1)


def layer_dilations(n_layers: int, inner_dilation: int = 2) -> list[int]:
    """Dilation per layer: 1 for the first and the last, `inner_dilation` in between."""
    return [1 if index in (0, n_layers - 1) else inner_dilation for index in range(n_layers)]


def fcn_receptive_field(n_layers: int, inner_dilation: int = 2) -> int:
    """Side of the input region one output voxel sees (33 for the default 9 layers)."""
    # a 3-wide kernel with dilation d widens the field by 2 * d
    return 1 + sum(2 * d for d in layer_dilations(n_layers, inner_dilation))


class DilatedFCN(nn.Module):
    """Stack of 3x3 (dims=2) or 3x3x3 (dims=3) dilated convs; output has the input's spatial size.

    `widths` lists every layer's output channels, the last one being the output channel count.
    Each layer but the last is conv (no bias before a norm) + norm + LeakyReLU(`negative_slope`);
    the last is a plain conv with bias. Padding equals dilation, so sizes never change. With
    `residual=True` the input is added to the last conv's output (needs in_channels == widths[-1]),
    so the network learns the difference between the contrasts. `final_activation="tanh"` is
    applied after that sum, so the output itself stays in [-1, 1].
    """

    def __init__(
        self,
        dims: int = 2,
        in_channels: int = 1,
        widths: Sequence[int] = DEFAULT_FCN_WIDTHS,
        residual: bool = False,
        norm: str = "batch",
        final_activation: str = "none",
        inner_dilation: int = 2,
        negative_slope: float = 0.2,
    ):
        super().__init__()
        check_dims(dims)
        check_norm(norm)
        widths = [int(w) for w in widths]
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"widths must list at least two positive channel counts; got {widths}")
        if final_activation not in FCN_FINAL_ACTIVATIONS:
            raise ValueError(
                f"final_activation must be one of {', '.join(FCN_FINAL_ACTIVATIONS)}; got {final_activation!r}"
            )
        if residual and in_channels != widths[-1]:
            raise ValueError(f"residual needs in_channels == widths[-1]; got {in_channels} and {widths[-1]}")
        if inner_dilation < 1:
            raise ValueError(f"inner_dilation must be >= 1; got {inner_dilation}")
        conv = conv_type(dims)
        dilations = layer_dilations(len(widths), inner_dilation)
        channels = [in_channels, *widths]
        layers: list[nn.Module] = []
        for index, dilation in enumerate(dilations[:-1]):
            layers += [
                conv(channels[index], channels[index + 1], 3, padding=dilation, dilation=dilation, bias=norm == "none"),
                norm_layer(norm, channels[index + 1], dims),
                nn.LeakyReLU(negative_slope, inplace=True),
            ]
        self.body = nn.Sequential(*layers)
        self.last = conv(channels[-2], channels[-1], 3, padding=1)
        self.final = nn.Tanh() if final_activation == "tanh" else nn.Identity()
        self.residual = residual
        self.receptive_field = fcn_receptive_field(len(widths), inner_dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.last(self.body(x))
        if self.residual:
            out = out + x
        return self.final(out)
