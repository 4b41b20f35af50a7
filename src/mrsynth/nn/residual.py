"""Long input-to-output residual: a generator that learns a correction to its input."""

from __future__ import annotations

import torch
from torch import nn


class InputResidual(nn.Module):
    """out = clamp(x + body(x), -1, 1): with a zero body the generator is the identity."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x + self.body(x), -1.0, 1.0)
