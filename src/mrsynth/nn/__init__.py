"""Networks and losses for paired image-to-image translation (pix2pix family)."""

from __future__ import annotations

from mrsynth.nn.init import count_parameters, init_weights
from mrsynth.nn.losses import AdversarialLoss, masked_l1, masked_l2
from mrsynth.nn.norm import NORM_KINDS, norm_layer
from mrsynth.nn.patchgan import MultiScaleDiscriminator, PatchDiscriminator, patch_receptive_field
from mrsynth.nn.unet import UNetGenerator

__all__ = [
    "NORM_KINDS",
    "AdversarialLoss",
    "MultiScaleDiscriminator",
    "PatchDiscriminator",
    "UNetGenerator",
    "count_parameters",
    "init_weights",
    "masked_l1",
    "masked_l2",
    "norm_layer",
    "patch_receptive_field",
]
