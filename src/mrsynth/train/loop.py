"""The training loop: one function over plain objects; a GAN variant differs only by what the spec built."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mrsynth.checkpoint import rng_state, save_checkpoint, set_rng_state
from mrsynth.errors import MrsynthError
from mrsynth.spec.experiment import Experiment
from mrsynth.spec.training import EvalSpec, TrainSpec
from mrsynth.train.batches import steps_per_epoch
from mrsynth.train.build import Networks
from mrsynth.train.distributed import DistContext, mean_over_ranks, wrap
from mrsynth.train.objectives import build_objective
from mrsynth.train.objectives.base import Objective
from mrsynth.train.optimisation import build_optimisation
from mrsynth.train.step import TOTALS, TrainingStep

LAST, BEST = "last.pt", "best.pt"


class StopTraining(Exception):
    """Raised by a hook (e.g. a search pruner) to end training early on purpose."""


@dataclass
class Hooks:
    """Where the loop reports; every hook is optional."""

    epoch_end: Callable[[int, dict[str, float]], None] = lambda epoch, metrics: None
    validated: Callable[[int, dict[str, float], np.ndarray], None] = lambda epoch, metrics, preds: None


@dataclass
class FitResult:
    history: list[dict[str, float]]
    best_value: float | None
    best_epoch: int | None
    epochs_done: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class FitState:
    """Where training stands; stored at the top level of every last.pt."""

    epoch: int = 0
    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_value: float | None = None
    best_epoch: int | None = None

    @classmethod
    def from_checkpoint(cls, ckpt: dict[str, Any]) -> FitState:
        return cls(**{f.name: ckpt[f.name] for f in fields(cls)})



def _is_better(value: float, best: float | None, mode: str) -> bool:
    if value is None or math.isnan(value):
        return False
    return best is None or (value > best if mode == "max" else value < best)


def fit(exp: Experiment, nets: Networks, train, validate: Callable[[], tuple[dict[str, float], np.ndarray]],
        device: torch.device, *, ckpt_dir: Path, hooks: Hooks | None = None, resume: dict[str, Any] | None = None,
        progress: bool = True, dist: DistContext | None = None) -> FitResult:
    """Train for `exp.train.epochs`; checkpoint every epoch; `validate()` returns (val metrics, val predictions).

    `train` is any training set with `len()` and `epoch_batches(batch_size, seed, epoch, flips, pin, rank,
    world)`: paired slices, unpaired slices or 3D patches; the step is the same for all of them.

    Distributed (`dist.world` > 1): each rank trains on its shard of every global batch through
    DistributedDataParallel; only rank 0 validates, calls hooks and writes checkpoints."""
    hooks, dist = hooks or Hooks(), dist or DistContext()
    objective = build_objective(exp)
    _check_distributed(exp, objective, len(train), dist)
    step = _training_step(exp, nets.to(device), objective, device, dist)
    state = _resume(resume, nets, step) if resume else FitState()
    for epoch in range(state.epoch, exp.train.epochs):
        started = time.perf_counter()
        metrics = run_epoch(exp.train, train, step, state, epoch, dist=dist, show_bar=progress)
        state.epoch = epoch + 1
        if not dist.is_main:
            state.history.append(metrics)
            continue
        if state.epoch % exp.eval.every == 0 or state.epoch == exp.train.epochs:
            metrics.update(validate_and_keep_best(exp.eval, nets, validate, hooks, state, ckpt_dir))
        metrics["time/epoch_seconds"] = time.perf_counter() - started
        state.history.append(metrics)
        hooks.epoch_end(state.epoch, metrics)
        save_checkpoint(ckpt_dir / LAST, _checkpoint(state, nets, step))
    return FitResult(state.history, state.best_value, state.best_epoch, state.epoch)


def run_epoch(spec: TrainSpec, train, step: TrainingStep, state: FitState, epoch: int, *, dist: DistContext,
              show_bar: bool) -> dict[str, float]:
    """One epoch of steps on this rank's shard: each term's epoch mean (averaged over ranks) and the lr used.

    Advances `state.step` per batch and the lr schedules once at the end."""
    torch.manual_seed(spec.seed * 100_003 + epoch)  # dropout etc.: a pure function of (seed, epoch)
    steps = steps_per_epoch(len(train), spec.batch_size * dist.world)
    batches = train.epoch_batches(spec.batch_size, spec.seed, epoch, spec.flips, step.pin, dist.rank, dist.world)
    bar = _progress_bar(batches, steps, f"epoch {epoch + 1}/{spec.epochs}", show_bar and dist.is_main)
    sums: dict[str, torch.Tensor] = {}
    for done, batch in enumerate(bar, 1):
        terms = step(batch, epoch, state.step)
        state.step += 1
        for name, value in terms.items():
            sums[name] = sums[name] + value.detach() if name in sums else value.detach()
        if done % 10 == 1:  # a device sync, so not every step
            bar.set_postfix({k: f"{float(v) / done:.3f}" for k, v in sums.items() if k in TOTALS})
    bar.close()
    metrics = mean_over_ranks(dist, {f"train/{k}": float(v) / steps for k, v in sums.items()})
    metrics.update(step.optimisation.learning_rates())
    step.optimisation.end_epoch()
    return metrics


def validate_and_keep_best(spec: EvalSpec, nets: Networks, validate, hooks: Hooks, state: FitState,
                           ckpt_dir: Path) -> dict[str, float]:
    """Validate the epoch just trained; when `spec.select_by` improves, save the generator as best.pt."""
    val_metrics, val_preds = validate()
    value = val_metrics.get(spec.select_by)
    if _is_better(value, state.best_value, spec.select_mode):
        state.best_value, state.best_epoch = value, state.epoch
        save_checkpoint(ckpt_dir / BEST, {"generator": nets.generator.state_dict(), "epoch": state.epoch,
                                          "select_by": spec.select_by, "value": value})
    hooks.validated(state.epoch, val_metrics, val_preds)
    return val_metrics


def _check_distributed(exp: Experiment, objective: Objective, n_train: int, dist: DistContext) -> None:
    if dist.enabled and not objective.supports_distributed:
        raise MrsynthError(f"distributed training does not support the {exp.loss.kind} loss; run it in one process")
    if dist.enabled and n_train < exp.train.batch_size * dist.world:
        raise MrsynthError(f"{n_train} training slices cannot fill one batch of {exp.train.batch_size} on each of {dist.world} processes")


def _training_step(exp: Experiment, nets: Networks, objective: Objective, device: torch.device,
                   dist: DistContext) -> TrainingStep:
    uses_d = objective.uses_discriminator() and nets.discriminator is not None
    amp = exp.train.amp and device.type == "cuda"
    optimisation = build_optimisation(exp.train, nets, uses_d, device, amp)
    discriminator = wrap(nets.discriminator if uses_d else None, dist, device)
    return TrainingStep(objective, wrap(nets.generator, dist, device), discriminator, optimisation, device, amp)


def _progress_bar(batches, steps: int, label: str, show: bool):
    from tqdm import tqdm

    return tqdm(batches, total=steps, desc=label, leave=False, disable=not show)


def _checkpoint(state: FitState, nets: Networks, step: TrainingStep) -> dict[str, Any]:
    return {**asdict(state), **nets.state_dict(), **step.optimisation.state_dict(), "rng": rng_state(),
            "objective": step.objective.state_dict()}


def _resume(ckpt: dict[str, Any], nets: Networks, step: TrainingStep) -> FitState:
    nets.load_state_dict(ckpt)
    step.optimisation.load_state_dict(ckpt)
    set_rng_state(ckpt["rng"])
    step.objective.load_state_dict(ckpt.get("objective") or {})
    return FitState.from_checkpoint(ckpt)
