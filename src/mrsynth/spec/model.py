"""The `model` section: generator and discriminator families, each tagged by `kind`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mrsynth.spec.base import StrictModel

Norm = Literal["batch", "instance", "none"]


class UNetGenerator(StrictModel):
    """pix2pix U-Net: strided-conv encoder, transposed-conv decoder, skip connections."""

    kind: Literal["unet"] = "unet"
    depth: int = Field(default=6, ge=2, le=9)
    """Number of down-sampling steps; slice sides must be divisible by 2**depth."""
    base_width: int = Field(default=32, ge=1, le=512)
    """Channels of the first encoder layer; doubled per level up to `max_width`."""
    max_width: int = Field(default=256, ge=1, le=1024)
    """Channel cap of the deeper layers."""
    norm: Norm = "batch"
    """Normalisation layer."""
    dropout: float = Field(default=0.0, ge=0, lt=1)
    """Dropout in the innermost decoder blocks (pix2pix uses 0.5 as its noise source)."""
    residual: bool = False
    """Add the input to the output (clipped to [-1, 1]): the network learns a correction to the source."""


Generator = Annotated[UNetGenerator, Field(discriminator="kind")]


class PatchGANDiscriminator(StrictModel):
    """Conditional PatchGAN: classifies overlapping patches of (source, image) as real or fake."""

    kind: Literal["patchgan"] = "patchgan"
    n_layers: int = Field(default=3, ge=1, le=6)
    """Strided conv layers; 3 gives a 70×70 receptive field."""
    base_width: int = Field(default=32, ge=1, le=512)
    """Channels of the first layer."""
    norm: Norm = "batch"
    """Normalisation layer."""
    scales: int = Field(default=1, ge=1, le=4)
    """Number of image scales (multi-scale discriminator when > 1)."""


class NoDiscriminator(StrictModel):
    """No discriminator: a purely reconstruction-trained generator."""

    kind: Literal["none"] = "none"


Discriminator = Annotated[PatchGANDiscriminator | NoDiscriminator, Field(discriminator="kind")]


class ModelSpec(StrictModel):
    """Networks to build."""

    generator: Generator = UNetGenerator()
    """Generator family (`kind`: unet)."""
    discriminator: Discriminator = PatchGANDiscriminator()
    """Discriminator family (`kind`: patchgan | none)."""
