"""What steps the networks' weights: Adam per network, the pix2pix lr schedule and the mixed-precision scaler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR

from mrsynth.spec.training import TrainSpec
from mrsynth.train.build import Networks


def lr_factor(epoch: int, epochs: int, decay_epochs: int) -> float:
    """pix2pix schedule: constant, then linear decay towards 0 over the last `decay_epochs` epochs."""
    start = epochs - decay_epochs
    return 1.0 if epoch < start else 1.0 - (epoch - start + 1) / (decay_epochs + 1)


@dataclass
class Optimisation:
    """The optimisers, their schedules and the scaler: everything a resumed run restores besides weights and RNG."""

    opt_g: torch.optim.Optimizer
    sched_g: LambdaLR
    scaler: torch.amp.GradScaler
    opt_d: torch.optim.Optimizer | None = None
    sched_d: LambdaLR | None = None

    def learning_rates(self) -> dict[str, float]:
        rates = {"lr/generator": self.opt_g.param_groups[0]["lr"]}
        if self.opt_d:
            rates["lr/discriminator"] = self.opt_d.param_groups[0]["lr"]
        return rates

    def end_epoch(self) -> None:
        self.sched_g.step()
        if self.sched_d:
            self.sched_d.step()

    def state_dict(self) -> dict[str, Any]:
        """Flat keys, stored at the top level of a checkpoint beside the weights."""
        return {"opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict() if self.opt_d else None,
                "sched_g": self.sched_g.state_dict(), "sched_d": self.sched_d.state_dict() if self.sched_d else None,
                "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.opt_g.load_state_dict(state["opt_g"])
        self.sched_g.load_state_dict(state["sched_g"])
        if self.opt_d and state.get("opt_d"):
            self.opt_d.load_state_dict(state["opt_d"])
            self.sched_d.load_state_dict(state["sched_d"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])


def build_optimisation(train: TrainSpec, nets: Networks, uses_d: bool, device: torch.device, amp: bool) -> Optimisation:
    """Adam for the generator, and for the discriminator when the objective trains one."""
    betas = tuple(train.betas)
    schedule = lambda e: lr_factor(e, train.epochs, train.decay_epochs)  # noqa: E731
    opt_g = torch.optim.Adam(nets.generator.parameters(), lr=train.lr_g, betas=betas)
    opt_d = torch.optim.Adam(nets.discriminator.parameters(), lr=train.lr_d, betas=betas) if uses_d else None
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    return Optimisation(opt_g, LambdaLR(opt_g, schedule), scaler, opt_d, LambdaLR(opt_d, schedule) if opt_d else None)
