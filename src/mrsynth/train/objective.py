"""What one training step optimises, built from the spec's `loss` and `masking` sections."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mrsynth.nn import AdversarialLoss, masked_l1, masked_l2
from mrsynth.spec.training import LossSpec, MaskingSpec
from mrsynth.train.batches import Batch

RECONSTRUCTION = {"l1": masked_l1, "l2": masked_l2}


@dataclass
class PairedObjective:
    """pix2pix: conditional adversarial loss plus (optionally masked) L1/L2 against the target."""

    loss: LossSpec
    masking: MaskingSpec

    def __post_init__(self) -> None:
        self.adversarial = AdversarialLoss(self.loss.adversarial_kind)

    def uses_discriminator(self) -> bool:
        return self.loss.adversarial > 0

    def discriminator_loss(self, discriminator: nn.Module, batch: Batch, fake: torch.Tensor) -> torch.Tensor:
        # One forward over real and fake pairs together: DistributedDataParallel allows one forward per backward.
        pairs = torch.cat([torch.cat([batch.source, batch.target], dim=1), torch.cat([batch.source, fake.detach()], dim=1)])
        logits = discriminator(pairs)
        n = batch.source.shape[0]
        if isinstance(logits, torch.Tensor):
            return self.adversarial.discriminator(logits[:n], logits[n:])
        return self.adversarial.discriminator([m[:n] for m in logits], [m[n:] for m in logits])

    def generator_terms(self, discriminator: nn.Module | None, batch: Batch, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each weighted term by name, and their sum as `g_total`."""
        terms: dict[str, torch.Tensor] = {}
        for name, fn in RECONSTRUCTION.items():
            weight = getattr(self.loss, name)
            if weight > 0:
                mask = batch.mask(self.masking.kind) if name in self.masking.apply_to else None
                terms[f"g_{name}"] = weight * fn(fake, batch.target, mask)
        if self.uses_discriminator() and discriminator is not None:
            logits = discriminator(torch.cat([batch.source, fake], dim=1))
            terms["g_adversarial"] = self.loss.adversarial * self.adversarial.generator(logits)
        terms["g_total"] = torch.stack(list(terms.values())).sum()
        return terms
