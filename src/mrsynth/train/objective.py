"""What one training step optimises, built from the spec's `loss` and `masking` sections.

An objective turns a batch into the generator's outputs (`forward`), the discriminator's loss and the
generator's weighted terms. The loop calls these three in that order for every family; a new loss
family is a new class and a row in OBJECTIVES."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mrsynth.nn import AdversarialLoss, gradient_difference_loss, masked_l1, masked_l2
from mrsynth.spec.experiment import Experiment
from mrsynth.spec.loss import CycleGANLoss, NECLoss, PairedLoss
from mrsynth.spec.training import MaskingSpec
from mrsynth.train.batches import Batch

Outputs = dict[str, torch.Tensor]


def split_logits(logits, n: int):
    """Logits of a batch of `real` then `fake` inputs (one tensor or one per scale) → (real, fake)."""
    if isinstance(logits, torch.Tensor):
        return logits[:n], logits[n:]
    return [m[:n] for m in logits], [m[n:] for m in logits]


def real_fake_loss(adversarial: AdversarialLoss, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    # One forward over reals and fakes together: DistributedDataParallel allows one forward per backward.
    return adversarial.discriminator(*split_logits(discriminator(torch.cat([real, fake.detach()])), real.shape[0]))


def with_total(terms: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    terms["g_total"] = torch.stack(list(terms.values())).sum()
    return terms


class Objective:
    """Defaults shared by every family: no state to checkpoint, the generator applied to the source."""

    def forward(self, generator: nn.Module, batch: Batch) -> Outputs:
        return {"fake": generator(batch.source)}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


@dataclass
class PairedObjective(Objective):
    """pix2pix and Nie et al.: (optionally masked) L1/L2/gradient difference against the target, plus adversarial."""

    loss: PairedLoss
    masking: MaskingSpec

    def __post_init__(self) -> None:
        self.adversarial = AdversarialLoss(self.loss.adversarial_kind)
        self.reconstruction: dict[str, Callable[..., torch.Tensor]] = {
            "l1": masked_l1, "l2": masked_l2,
            "gdl": lambda fake, target, mask: gradient_difference_loss(fake, target, self.loss.gdl_exponent, mask),
        }

    def uses_discriminator(self) -> bool:
        return self.loss.adversarial > 0

    def _judged(self, batch: Batch, image: torch.Tensor) -> torch.Tensor:
        return torch.cat([batch.source, image], dim=1) if self.loss.conditional else image

    def discriminator_loss(self, discriminator: nn.Module, batch: Batch, outputs: Outputs) -> torch.Tensor:
        fake = outputs["fake"].detach()
        return real_fake_loss(self.adversarial, discriminator, self._judged(batch, batch.target), self._judged(batch, fake))

    def generator_terms(self, generator: nn.Module, discriminator: nn.Module | None, batch: Batch, outputs: Outputs) -> dict[str, torch.Tensor]:
        """Each weighted term by name, and their sum as `g_total`."""
        fake = outputs["fake"]
        terms: dict[str, torch.Tensor] = {}
        for name, fn in self.reconstruction.items():
            weight = getattr(self.loss, name)
            if weight > 0:
                mask = batch.mask(self.masking.kind) if name in self.masking.apply_to else None
                terms[f"g_{name}"] = weight * fn(fake, batch.target, mask)
        if self.uses_discriminator() and discriminator is not None:
            terms["g_adversarial"] = self.loss.adversarial * self.adversarial.generator(discriminator(self._judged(batch, fake)))
        return with_total(terms)


def build_objective(exp: Experiment) -> Objective:
    from mrsynth.train.unpaired import CycleGANObjective, NECObjective

    table: dict[type, Callable[[Experiment], Objective]] = {
        PairedLoss: lambda e: PairedObjective(e.loss, e.masking),
        NECLoss: lambda e: NECObjective(e.loss),
        CycleGANLoss: lambda e: CycleGANObjective(e.loss),
    }
    return table[type(exp.loss)](exp)
