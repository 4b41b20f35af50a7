"""The replication report's CNN discriminator: one real/fake logit per input patch or slice."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from mrsynth.nn.dims import check_dims, conv_type, max_pool_type
from mrsynth.nn.norm import check_norm, norm_layer

POOLED_STAGES = 3


def _conv_stage(dims: int, in_ch: int, out_ch: int, kernel_size: int, norm: str, pool: bool) -> list[nn.Module]:
    """Same-size conv, norm, LeakyReLU(0.2), then an optional 2x max-pool."""
    layers = [
        conv_type(dims)(in_ch, out_ch, kernel_size, padding=kernel_size // 2, bias=norm == "none"),
        norm_layer(norm, out_ch, dims),
        nn.LeakyReLU(0.2, inplace=True),
    ]
    return layers + [max_pool_type(dims)(2)] if pool else layers


def _fully_connected(in_features: int, fc: Sequence[int]) -> nn.Sequential:
    """Linear layers with LeakyReLU between them; the last one returns raw logits."""
    layers: list[nn.Module] = []
    for index, out_features in enumerate(fc):
        layers.append(nn.Linear(in_features, out_features))
        if index < len(fc) - 1:
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        in_features = out_features
    return nn.Sequential(*layers)


class CNNDiscriminator(nn.Module):
    """Three conv+norm+LeakyReLU+max-pool stages, one more conv stage, then fully connected layers.

    `widths` gives the four conv stages' channels, `fc` the fully connected widths (the last is the
    number of logits). The first FC layer's input size is computed from `input_size`, the spatial
    shape this discriminator accepts (one side per dim; each pooling floors the side by 2). Returns
    raw logits of shape (N, fc[-1]): the report's sigmoid is applied by the loss
    (`AdversarialLoss("bce")` uses the stable with-logits form).
    """

    def __init__(
        self,
        dims: int = 2,
        in_channels: int = 1,
        input_size: Sequence[int] = (32, 32),
        widths: Sequence[int] = (32, 64, 128, 256),
        fc: Sequence[int] = (512, 128, 1),
        norm: str = "batch",
        kernel_size: int = 3,
    ):
        super().__init__()
        check_dims(dims)
        check_norm(norm)
        self.input_size = tuple(int(s) for s in input_size)
        if len(self.input_size) != dims:
            raise ValueError(f"input_size must have {dims} sides for dims={dims}; got {self.input_size}")
        if min(self.input_size) < 2**POOLED_STAGES:
            raise ValueError(f"input_size sides must be >= {2**POOLED_STAGES}; got {self.input_size}")
        if len(widths) != POOLED_STAGES + 1:
            raise ValueError(f"widths must list {POOLED_STAGES + 1} conv stages; got {tuple(widths)}")
        if not fc:
            raise ValueError("fc must list at least one fully connected layer")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and positive; got {kernel_size}")
        channels = [in_channels, *widths]
        layers: list[nn.Module] = []
        for index in range(POOLED_STAGES + 1):
            layers += _conv_stage(dims, channels[index], channels[index + 1], kernel_size, norm,
                                  pool=index < POOLED_STAGES)
        self.features = nn.Sequential(*layers)
        pooled = [side // 2**POOLED_STAGES for side in self.input_size]
        self.classifier = _fully_connected(widths[-1] * math.prod(pooled), fc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[2:]) != self.input_size:
            raise ValueError(
                f"CNNDiscriminator was built for input_size {self.input_size}; got {tuple(x.shape[2:])}"
            )
        return self.classifier(torch.flatten(self.features(x), start_dim=1))
