"""The `model` section: generator and discriminator families, each tagged by `kind`."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator

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

    @property
    def size_multiple(self) -> int:
        """Input sides must be multiples of this (the total down-sampling)."""
        return 2**self.depth


class DilatedFCNGenerator(StrictModel):
    """Nie et al.'s fully convolutional generator: dilated 3×3(×3) convs, no pooling, sizes unchanged."""

    kind: Literal["dilated_fcn"] = "dilated_fcn"
    widths: list[int] = Field(default=[32, 32, 32, 64, 64, 64, 32, 32, 1], min_length=2)
    """Output channels of every layer; the last is the output channel count (1)."""
    dilation: int = Field(default=2, ge=1, le=8)
    """Dilation of the inner layers (the first and last use 1)."""
    norm: Norm = "batch"
    """Normalisation layer after every conv but the last."""
    dims: Literal[2, 3] = 2
    """2: slices; 3: 3D patches (needs `data.patches`)."""
    residual: bool = False
    """Long residual: the input is added to the last layer's output."""

    size_multiple: ClassVar[int] = 1  # no pooling: any input size

    @field_validator("widths")
    @classmethod
    def _one_output_channel(cls, widths: list[int]) -> list[int]:
        if widths[-1] != 1 or min(widths) < 1:
            raise ValueError(f"every width must be >= 1 and the last (the output channels) must be 1 (got {widths})")
        return widths


class ResNetGenerator(StrictModel):
    """CycleGAN/NEC ResNet generator: two down-samplings, `n_blocks` residual blocks, two up-samplings."""

    kind: Literal["resnet"] = "resnet"
    n_blocks: int = Field(default=9, ge=0, le=24)
    """Residual blocks at the bottleneck (9 for 256-pixel inputs, 6 for 128)."""
    base_width: int = Field(default=64, ge=1, le=512)
    """Channels of the first layer (doubled twice at the bottleneck)."""
    norm: Norm = "instance"
    """Normalisation layer."""

    size_multiple: ClassVar[int] = 4  # two stride-2 down-samplings


Generator = Annotated[UNetGenerator | DilatedFCNGenerator | ResNetGenerator, Field(discriminator="kind")]


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


class CNNDiscriminator(StrictModel):
    """Nie et al.'s CNN: three conv+norm+LeakyReLU+max-pool stages, a fourth conv stage, fully connected layers.

    Judges the whole input (slice or 3D patch) with one logit; it sees the image alone, not the source."""

    kind: Literal["cnn"] = "cnn"
    widths: tuple[int, int, int, int] = (32, 64, 128, 256)
    """Channels of the four conv stages."""
    fc: list[int] = Field(default=[512, 128, 1], min_length=1)
    """Fully connected widths; the last is the number of logits (1)."""
    norm: Norm = "batch"
    """Normalisation layer."""


class NoDiscriminator(StrictModel):
    """No discriminator: a purely reconstruction-trained generator."""

    kind: Literal["none"] = "none"


Discriminator = Annotated[PatchGANDiscriminator | CNNDiscriminator | NoDiscriminator, Field(discriminator="kind")]


class ModelSpec(StrictModel):
    """Networks to build."""

    generator: Generator = UNetGenerator()
    """Generator family (`kind`: unet | dilated_fcn | resnet)."""
    discriminator: Discriminator = PatchGANDiscriminator()
    """Discriminator family (`kind`: patchgan | cnn | none)."""
