"""SFCN, the simple fully convolutional network for 3D brain volumes (Peng et al. 2021, Med. Image Anal.).

Blocks of conv 3×3×3 → batch norm → max pool 2 → ReLU, one per width but the last; a final
conv 1×1×1 → batch norm → ReLU of the last width; then global average pool, dropout, conv 1×1×1 to
`bins` outputs and log-softmax: a log-probability distribution over score bins. The pooled features
before dropout are the volume's embedding (`embed`), used frozen by the transfer head.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PENG_WIDTHS = (32, 64, 128, 256, 256, 64)  # Peng et al.'s channels


def _pooled_block(in_ch: int, out_ch: int) -> list[nn.Module]:
    return [nn.Conv3d(in_ch, out_ch, kernel_size=3, padding=1), nn.BatchNorm3d(out_ch), nn.MaxPool3d(2), nn.ReLU(inplace=True)]


class SFCN(nn.Module):
    def __init__(self, widths=PENG_WIDTHS, bins: int = 50, dropout: float = 0.5, in_channels: int = 1):
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if len(widths) < 2 or min(widths) < 1:
            raise ValueError(f"widths needs at least two positive entries (got {widths})")
        layers: list[nn.Module] = []
        channels = in_channels
        for width in widths[:-1]:
            layers += _pooled_block(channels, width)
            channels = width
        layers += [nn.Conv3d(channels, widths[-1], kernel_size=1), nn.BatchNorm3d(widths[-1]), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Conv3d(widths[-1], bins, kernel_size=1)
        self.embedding_size = widths[-1]
        self.min_side = 2 ** (len(widths) - 1)

    def embed(self, volume: torch.Tensor) -> torch.Tensor:
        """(N, embedding_size) pooled features of (N, C, D, H, W) volumes."""
        if min(volume.shape[2:]) < self.min_side:
            raise ValueError(f"each side must be >= {self.min_side} for {len(self.features) // 4} pooling blocks "
                             f"(got {tuple(volume.shape[2:])})")
        return self.pool(self.features(volume)).flatten(1)

    def forward(self, volume: torch.Tensor) -> torch.Tensor:
        """(N, bins) log-probabilities."""
        features = self.dropout(self.embed(volume)[:, :, None, None, None])
        return F.log_softmax(self.classifier(features).flatten(1), dim=1)
