"""Objectives for unpaired translation: NEC (one generator, structure through NGF) and CycleGAN (two of each)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from mrsynth.nn import AdversarialLoss, ImagePool, masked_l1, ngf_loss
from mrsynth.spec.loss import CycleGANLoss, NECLoss
from mrsynth.train.batches import Batch
from mrsynth.train.objectives.base import NetworkNeeds, Objective, Outputs, real_fake_loss, with_total


@dataclass
class NECObjective(Objective):
    """G(s) should look like a target-domain image (adversarial) and keep the source's edges (NGF)."""

    loss: NECLoss

    def __post_init__(self) -> None:
        self.adversarial = AdversarialLoss(self.loss.adversarial_kind)

    def discriminator_loss(self, discriminator: nn.Module, batch: Batch, outputs: Outputs) -> torch.Tensor:
        return real_fake_loss(self.adversarial, discriminator, batch.target, outputs["fake"])

    def generator_terms(self, generator: nn.Module, discriminator: nn.Module | None, batch: Batch, outputs: Outputs) -> dict[str, torch.Tensor]:
        fake = outputs["fake"]
        terms: dict[str, torch.Tensor] = {}
        if self.loss.ngf > 0:
            terms["g_ngf"] = self.loss.ngf * ngf_loss(batch.source, fake, self.loss.ngf_eps)
        if self.uses_discriminator() and discriminator is not None:
            terms["g_adversarial"] = self.loss.adversarial * self.adversarial.generator(discriminator(fake))
        return with_total(terms)


@dataclass
class CycleGANObjective(Objective):
    """G: source → target and F: target → source, each judged by its domain's discriminator, tied by cycles.

    Declares two directions, so `build_networks` gives it a CycleGenerators generator (G, F) and a
    CycleDiscriminators discriminator (D_target, D_source)."""

    loss: CycleGANLoss
    supports_distributed: ClassVar[bool] = False  # G, F and both discriminators are called by attribute, past DDP's one forward

    def __post_init__(self) -> None:
        self.adversarial = AdversarialLoss(self.loss.adversarial_kind)
        self.pools = {"target": ImagePool(self.loss.pool_size), "source": ImagePool(self.loss.pool_size)}

    def needs(self) -> NetworkNeeds:
        return NetworkNeeds(directions=2)

    def forward(self, generator: nn.Module, batch: Batch) -> Outputs:
        return {"fake": generator.forward_net(batch.source), "fake_source": generator.backward_net(batch.target)}

    def discriminator_loss(self, discriminator: nn.Module, batch: Batch, outputs: Outputs) -> torch.Tensor:
        for pool in self.pools.values():  # images restored from a checkpoint live on the CPU
            pool.images = [image.to(outputs["fake"].device) for image in pool.images]
        fake_target = self.pools["target"].query(outputs["fake"])
        fake_source = self.pools["source"].query(outputs["fake_source"])
        return (real_fake_loss(self.adversarial, discriminator.target, batch.target, fake_target)
                + real_fake_loss(self.adversarial, discriminator.source, batch.source, fake_source))

    def generator_terms(self, generator: nn.Module, discriminator: nn.Module | None, batch: Batch, outputs: Outputs) -> dict[str, torch.Tensor]:
        g, f = generator.forward_net, generator.backward_net
        fake_target, fake_source = outputs["fake"], outputs["fake_source"]
        loss = self.loss
        terms: dict[str, torch.Tensor] = {}
        if self.uses_discriminator() and discriminator is not None:
            terms["g_adversarial"] = loss.adversarial * (self.adversarial.generator(discriminator.target(fake_target))
                                                         + self.adversarial.generator(discriminator.source(fake_source)))
        if loss.cycle_a > 0:
            terms["g_cycle_source"] = loss.cycle_a * masked_l1(f(fake_target), batch.source)
        if loss.cycle_b > 0:
            terms["g_cycle_target"] = loss.cycle_b * masked_l1(g(fake_source), batch.target)
        if loss.identity > 0:
            terms["g_identity"] = loss.identity * (loss.cycle_b * masked_l1(g(batch.target), batch.target)
                                                   + loss.cycle_a * masked_l1(f(batch.source), batch.source))
        return with_total(terms)

    def state_dict(self) -> dict[str, Any]:
        """The pools' images: a resumed run must see the same past fakes as an uninterrupted one."""
        return {name: [image.cpu() for image in pool.images] for name, pool in self.pools.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, images in state.items():
            self.pools[name].images = list(images)
