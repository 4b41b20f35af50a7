"""2D generators: a stack of slices, and a whole volume slice by slice along the slicing axis."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mrsynth.data.slices import crop_or_pad, uncrop
from mrsynth.nn.init import eval_mode
from mrsynth.preprocess.normalise import BACKGROUND


@torch.no_grad()
def predict_slices(generator: nn.Module, source: np.ndarray, device: torch.device, batch_size: int = 32,
                   amp: bool = False) -> np.ndarray:
    """Predictions for every slice of a (n, h, w) source stack, in order, as float32 (n, h, w)."""
    out = np.empty(source.shape, dtype=np.float32)
    with eval_mode(generator):
        for start in range(0, len(source), batch_size):
            # a copy: the stack may be a read-only memory map, which torch will not wrap
            batch = torch.from_numpy(np.array(source[start : start + batch_size]))[:, None]
            with torch.autocast(device.type, enabled=amp and device.type == "cuda"):
                fake = generator(batch.to(device, non_blocking=True))
            out[start : start + batch_size] = fake[:, 0].float().cpu().numpy()
    return out


def predict_volume_by_slices(generator: nn.Module, volume: np.ndarray, axis: int, size_multiple: int,
                             batch_size: int = 32) -> np.ndarray:
    """Normalised volume → normalised prediction of the same shape, slice by slice along `axis`, on the
    device the generator's weights are on."""
    stack = np.moveaxis(volume, axis, 0).astype(np.float32)
    # the whole plane, padded up to what the generator accepts: nothing outside the training crop is lost
    size = tuple(-(-side // size_multiple) * size_multiple for side in stack.shape[1:])
    padded, offsets = crop_or_pad(stack, size, BACKGROUND)
    out = predict_slices(generator, padded, next(generator.parameters()).device, batch_size)
    return np.moveaxis(uncrop(out, offsets, stack.shape[1:], BACKGROUND), 0, axis)
