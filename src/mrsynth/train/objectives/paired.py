"""The paired objective: pix2pix and Nie et al., where every source slice has its own subject's target."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from mrsynth.nn import AdversarialLoss, gradient_difference_loss, masked_l1, masked_l2
from mrsynth.spec.experiment import Experiment
from mrsynth.spec.loss import PairedLoss
from mrsynth.spec.training import MaskingSpec
from mrsynth.train.batches import Batch
from mrsynth.train.objectives.base import NetworkNeeds, Objective, Outputs, real_fake_loss, with_total


@dataclass
class PairedObjective(Objective):
    """(Optionally masked) L1/L2/gradient difference against the target, plus adversarial."""

    loss: PairedLoss
    masking: MaskingSpec

    @classmethod
    def from_experiment(cls, exp: Experiment) -> PairedObjective:
        return cls(exp.loss, exp.masking)

    def __post_init__(self) -> None:
        self.adversarial = AdversarialLoss(self.loss.adversarial_kind)
        self.reconstruction: dict[str, Callable[..., torch.Tensor]] = {
            "l1": masked_l1, "l2": masked_l2,
            "gdl": lambda fake, target, mask: gradient_difference_loss(fake, target, self.loss.gdl_exponent, mask),
        }

    def needs(self) -> NetworkNeeds:
        return NetworkNeeds(discriminator_channels=2 if self.loss.conditional else 1)

    def _judged(self, batch: Batch, image: torch.Tensor) -> torch.Tensor:
        return torch.cat([batch.source, image], dim=1) if self.loss.conditional else image

    def discriminator_loss(self, discriminator: nn.Module, batch: Batch, outputs: Outputs) -> torch.Tensor:
        fake = outputs["fake"].detach()
        return real_fake_loss(self.adversarial, discriminator, self._judged(batch, batch.target), self._judged(batch, fake))

    def generator_terms(self, generator: nn.Module, discriminator: nn.Module | None, batch: Batch, outputs: Outputs) -> dict[str, torch.Tensor]:
        """Each weighted term by name, and their sum as `g_total`."""
        fake = outputs["fake"]
        terms: dict[str, torch.Tensor] = {}
        for name, weight in self.loss.reconstruction_weights().items():
            if weight > 0:
                mask = batch.mask(self.masking.kind) if name in self.masking.apply_to else None
                terms[f"g_{name}"] = weight * self.reconstruction[name](fake, batch.target, mask)
        if self.uses_discriminator() and discriminator is not None:
            terms["g_adversarial"] = self.loss.adversarial * self.adversarial.generator(discriminator(self._judged(batch, fake)))
        return with_total(terms)
