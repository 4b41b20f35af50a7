"""What every objective shares: the step's three calls, the networks it declares, and the loss helpers.

An objective turns a batch into the generator's outputs (`forward`), the discriminator's loss and the
generator's weighted terms; the loop calls these three in that order for every family."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from mrsynth.nn import AdversarialLoss
from mrsynth.spec.experiment import Experiment
from mrsynth.train.batches import Batch

Outputs = dict[str, torch.Tensor]


@dataclass(frozen=True)
class NetworkNeeds:
    """The networks an objective trains: a generator and a discriminator per translation direction."""

    directions: int = 1
    """2: source → target and target → source (CycleGAN's G and F, each with its domain's discriminator)."""
    discriminator_channels: int = 1
    """2: a conditional discriminator judges (source, image) stacked; 1: the image alone."""


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
    """Defaults shared by every family: one direction, no state to checkpoint, the generator applied to the source."""

    supports_distributed: ClassVar[bool] = True
    """False: the loop refuses to train this family across processes."""

    @classmethod
    def from_experiment(cls, exp: Experiment) -> Objective:
        return cls(exp.loss)

    def needs(self) -> NetworkNeeds:
        return NetworkNeeds()

    def uses_discriminator(self) -> bool:
        return self.loss.adversarial > 0

    def forward(self, generator: nn.Module, batch: Batch) -> Outputs:
        return {"fake": generator(batch.source)}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass
