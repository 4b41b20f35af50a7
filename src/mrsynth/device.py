"""Which torch device a run trains on (`train.device` of every experiment kind)."""

from __future__ import annotations

import torch

from mrsynth.errors import MrsynthError


def pick_device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise MrsynthError("train.device: 'cuda' requested but no CUDA device is available")
    return torch.device("cuda" if choice in ("auto", "cuda") and torch.cuda.is_available() else "cpu")
