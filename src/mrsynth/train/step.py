"""One optimisation step, the same for every family: forward → discriminator loss → generator terms."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from mrsynth.errors import MrsynthError
from mrsynth.train.batches import Batch
from mrsynth.train.objectives.base import Objective, Outputs
from mrsynth.train.optimisation import Optimisation

TOTALS = ("g_total", "d_loss")


class NonFiniteLoss(MrsynthError):
    """A loss became NaN or Inf; the run fails and keeps its last good checkpoint."""


def check_finite(terms: dict[str, torch.Tensor], epoch: int, step: int) -> None:
    """One device sync per step: the totals carry any NaN/Inf of their terms; then name the culprit."""
    if bool(torch.isfinite(torch.stack([terms[k] for k in TOTALS if k in terms])).all()):
        return
    culprits = [k for k, v in terms.items() if not torch.isfinite(v)]
    name = next((k for k in culprits if k not in TOTALS), culprits[0])
    raise NonFiniteLoss(f"non-finite loss: {name} = {terms[name].item()} at epoch {epoch + 1}, step {step}")


@dataclass
class TrainingStep:
    """The objective, the networks as the step calls them (DDP-wrapped when distributed) and their optimisation."""

    objective: Objective
    generator: nn.Module
    discriminator: nn.Module | None
    """None when the objective trains no discriminator."""
    optimisation: Optimisation
    device: torch.device
    amp: bool

    @property
    def pin(self) -> bool:
        return self.device.type == "cuda"

    def __call__(self, batch: Batch, epoch: int, step: int) -> dict[str, torch.Tensor]:
        """Steps the discriminator, then the generator; returns every loss term of the step by name."""
        batch = batch.to(self.device, non_blocking=self.pin)
        with torch.autocast(self.device.type, enabled=self.amp):
            outputs = self.objective.forward(self.generator, batch)
        terms = {"d_loss": self._step_discriminator(batch, outputs)} if self.discriminator is not None else {}
        self.optimisation.opt_g.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, enabled=self.amp):
            terms.update(self.objective.generator_terms(self.generator, self.discriminator, batch, outputs))
        check_finite(terms, epoch, step)
        scaler = self.optimisation.scaler
        scaler.scale(terms["g_total"]).backward()
        scaler.step(self.optimisation.opt_g)
        scaler.update()
        return terms

    def _step_discriminator(self, batch: Batch, outputs: Outputs) -> torch.Tensor:
        self.optimisation.opt_d.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, enabled=self.amp):
            loss = self.objective.discriminator_loss(self.discriminator, batch, outputs)
        self.optimisation.scaler.scale(loss).backward()
        self.optimisation.scaler.step(self.optimisation.opt_d)
        return loss
