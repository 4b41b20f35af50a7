"""Spec → networks. One table per family; a new family adds a row here and nothing in the loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mrsynth.nn import (
    CNNDiscriminator,
    DilatedFCN,
    InputResidual,
    MultiScaleDiscriminator,
    PatchDiscriminator,
    ResNetGenerator,
    UNetGenerator,
    count_parameters,
    init_weights,
)
from mrsynth.spec import model as spec
from mrsynth.spec.experiment import Experiment
from mrsynth.train.objectives import build_objective


@dataclass(frozen=True)
class Shape:
    """What the networks see: spatial dimensions and the side lengths of one training input."""

    dims: int
    size: tuple[int, ...]


def input_shape(exp: Experiment) -> Shape:
    patches = exp.data.patches
    return Shape(3, tuple(patches.size)) if patches is not None else Shape(2, tuple(exp.data.slicing.size))


def build_unet(spec: spec.UNetGenerator, shape: Shape) -> nn.Module:
    net = UNetGenerator(in_channels=1, out_channels=1, depth=spec.depth, base_width=spec.base_width,
                        max_width=spec.max_width, norm=spec.norm, dropout=spec.dropout,
                        final_activation="none" if spec.residual else "tanh")
    return InputResidual(net) if spec.residual else net


def build_dilated_fcn(spec: spec.DilatedFCNGenerator, shape: Shape) -> nn.Module:
    return DilatedFCN(dims=spec.dims, in_channels=1, widths=spec.widths, residual=spec.residual, norm=spec.norm,
                      final_activation="tanh", inner_dilation=spec.dilation)


def build_resnet(spec: spec.ResNetGenerator, shape: Shape) -> nn.Module:
    return ResNetGenerator(in_channels=1, out_channels=1, base_width=spec.base_width, n_blocks=spec.n_blocks, norm=spec.norm)


def build_patchgan(spec: spec.PatchGANDiscriminator, shape: Shape, in_channels: int) -> nn.Module:
    kwargs = {"in_channels": in_channels, "base_width": spec.base_width, "n_layers": spec.n_layers, "norm": spec.norm}
    return MultiScaleDiscriminator(scales=spec.scales, **kwargs) if spec.scales > 1 else PatchDiscriminator(**kwargs)


def build_cnn(spec: spec.CNNDiscriminator, shape: Shape, in_channels: int) -> nn.Module:
    return CNNDiscriminator(dims=shape.dims, in_channels=in_channels, input_size=shape.size, widths=spec.widths,
                            fc=spec.fc, norm=spec.norm)


GENERATORS: dict[type, Callable[[object, Shape], nn.Module]] = {
    spec.UNetGenerator: build_unet,
    spec.DilatedFCNGenerator: build_dilated_fcn,
    spec.ResNetGenerator: build_resnet,
}
DISCRIMINATORS: dict[type, Callable[[object, Shape, int], nn.Module | None]] = {
    spec.PatchGANDiscriminator: build_patchgan,
    spec.CNNDiscriminator: build_cnn,
    spec.NoDiscriminator: lambda spec, shape, in_channels: None,
}


class CycleGenerators(nn.Module):
    """CycleGAN's two generators; calling the module translates source → target, as every generator does."""

    def __init__(self, forward_net: nn.Module, backward_net: nn.Module):
        super().__init__()
        self.forward_net, self.backward_net = forward_net, backward_net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_net(x)


class CycleDiscriminators(nn.Module):
    """CycleGAN's two discriminators: `target` judges target-domain images, `source` source-domain ones."""

    def __init__(self, target: nn.Module, source: nn.Module):
        super().__init__()
        self.target, self.source = target, source


@dataclass
class Networks:
    generator: nn.Module
    discriminator: nn.Module | None

    def to(self, device: torch.device) -> Networks:
        self.generator.to(device)
        if self.discriminator is not None:
            self.discriminator.to(device)
        return self

    def state_dict(self) -> dict[str, Any]:
        """The weights under `generator` and `discriminator`, as a checkpoint stores them."""
        return {"generator": self.generator.state_dict(),
                "discriminator": self.discriminator.state_dict() if self.discriminator is not None else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        if self.discriminator is not None and state.get("discriminator") is not None:
            self.discriminator.load_state_dict(state["discriminator"])

    def parameter_counts(self) -> dict[str, int]:
        counts = {"generator": count_parameters(self.generator)}
        if self.discriminator is not None:
            counts["discriminator"] = count_parameters(self.discriminator)
        return counts


def one_direction(generator: Callable[[], nn.Module], discriminator: Callable[[], nn.Module | None]) -> Networks:
    return Networks(generator(), discriminator())


def two_directions(generator: Callable[[], nn.Module], discriminator: Callable[[], nn.Module | None]) -> Networks:
    d_target, d_source = discriminator(), discriminator()  # before the generators: a seed keeps giving the same weights
    pair = CycleDiscriminators(d_target, d_source) if d_target is not None else None
    return Networks(CycleGenerators(generator(), generator()), pair)


ASSEMBLIES: dict[int, Callable[..., Networks]] = {1: one_direction, 2: two_directions}
"""Translation directions an objective declares → how its generators and discriminators are put together."""


def build_networks(exp: Experiment) -> Networks:
    shape = input_shape(exp)
    g_spec, d_spec = exp.model.generator, exp.model.discriminator
    needs = build_objective(exp).needs()

    def generator() -> nn.Module:
        return init_weights(GENERATORS[type(g_spec)](g_spec, shape))

    def discriminator() -> nn.Module | None:
        net = DISCRIMINATORS[type(d_spec)](d_spec, shape, needs.discriminator_channels)
        return init_weights(net) if net is not None else None

    return ASSEMBLIES[needs.directions](generator, discriminator)
