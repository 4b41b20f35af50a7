"""Spec → networks. One table per family; a new family adds a row here and nothing in the loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from mrsynth.nn import InputResidual, MultiScaleDiscriminator, PatchDiscriminator, UNetGenerator, init_weights
from mrsynth.spec.experiment import Experiment
from mrsynth.spec.model import NoDiscriminator, PatchGANDiscriminator
from mrsynth.spec.model import UNetGenerator as UNetSpec


def build_unet(spec: UNetSpec, in_channels: int = 1, out_channels: int = 1) -> nn.Module:
    net = UNetGenerator(in_channels=in_channels, out_channels=out_channels, depth=spec.depth, base_width=spec.base_width,
                        max_width=spec.max_width, norm=spec.norm, dropout=spec.dropout,
                        final_activation="none" if spec.residual else "tanh")
    return InputResidual(net) if spec.residual else net


def build_patchgan(spec: PatchGANDiscriminator, in_channels: int = 2) -> nn.Module:
    kwargs = {"in_channels": in_channels, "base_width": spec.base_width, "n_layers": spec.n_layers, "norm": spec.norm}
    return MultiScaleDiscriminator(scales=spec.scales, **kwargs) if spec.scales > 1 else PatchDiscriminator(**kwargs)


GENERATORS: dict[type, Callable[..., nn.Module]] = {UNetSpec: build_unet}
DISCRIMINATORS: dict[type, Callable[..., nn.Module | None]] = {
    PatchGANDiscriminator: build_patchgan,
    NoDiscriminator: lambda spec, **_: None,
}


@dataclass
class Networks:
    generator: nn.Module
    discriminator: nn.Module | None


def build_networks(exp: Experiment) -> Networks:
    generator = init_weights(GENERATORS[type(exp.model.generator)](exp.model.generator))
    discriminator = DISCRIMINATORS[type(exp.model.discriminator)](exp.model.discriminator)
    return Networks(generator, init_weights(discriminator) if discriminator is not None else None)
