"""The training loop: one function over plain objects; a GAN variant differs only by what the spec built."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mrsynth.checkpoint import rng_state, save_checkpoint, set_rng_state
from mrsynth.errors import MrsynthError
from mrsynth.spec.experiment import Experiment
from mrsynth.train.batches import steps_per_epoch
from mrsynth.train.build import Networks
from mrsynth.train.distributed import DistContext, mean_over_ranks, wrap
from mrsynth.train.objective import build_objective

LAST, BEST = "last.pt", "best.pt"
TOTALS = ("g_total", "d_loss")


class NonFiniteLoss(MrsynthError):
    """A loss became NaN or Inf; the run fails and keeps its last good checkpoint."""


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


def lr_factor(epoch: int, epochs: int, decay_epochs: int) -> float:
    """pix2pix schedule: constant, then linear decay towards 0 over the last `decay_epochs` epochs."""
    start = epochs - decay_epochs
    return 1.0 if epoch < start else 1.0 - (epoch - start + 1) / (decay_epochs + 1)


def _optimisers(exp: Experiment, nets: Networks, uses_d: bool):
    betas = tuple(exp.train.betas)
    schedule = lambda e: lr_factor(e, exp.train.epochs, exp.train.decay_epochs)  # noqa: E731
    opt_g = torch.optim.Adam(nets.generator.parameters(), lr=exp.train.lr_g, betas=betas)
    opt_d = torch.optim.Adam(nets.discriminator.parameters(), lr=exp.train.lr_d, betas=betas) if uses_d else None
    sched_g = torch.optim.lr_scheduler.LambdaLR(opt_g, schedule)
    sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, schedule) if opt_d else None
    return opt_g, opt_d, sched_g, sched_d


def _check_finite(terms: dict[str, torch.Tensor], epoch: int, step: int) -> None:
    """One device sync per step: the totals carry any NaN/Inf of their terms; then name the culprit."""
    if bool(torch.isfinite(torch.stack([terms[k] for k in TOTALS if k in terms])).all()):
        return
    culprits = [k for k, v in terms.items() if not torch.isfinite(v)]
    name = next((k for k in culprits if k not in TOTALS), culprits[0])
    raise NonFiniteLoss(f"non-finite loss: {name} = {terms[name].item()} at epoch {epoch + 1}, step {step}")


def _is_better(value: float, best: float | None, mode: str) -> bool:
    if value is None or math.isnan(value):
        return False
    return best is None or (value > best if mode == "max" else value < best)


def fit(exp: Experiment, nets: Networks, train, validate: Callable[[], tuple[dict[str, float], np.ndarray]],
        device: torch.device, ckpt_dir: Path, hooks: Hooks | None = None, resume: dict[str, Any] | None = None,
        progress: bool = True, dist: DistContext | None = None) -> FitResult:
    """Train for `exp.train.epochs`; checkpoint every epoch; `validate()` returns (val metrics, val predictions).

    `train` is any training set with `len()` and `epoch_batches(batch_size, seed, epoch, flips, pin, rank,
    world)`: paired slices, unpaired slices or 3D patches; the step is the same for all of them.

    Distributed (`dist.world` > 1): each rank trains on its shard of every global batch through
    DistributedDataParallel; only rank 0 validates, calls hooks and writes checkpoints."""
    from tqdm import tqdm

    hooks = hooks or Hooks()
    dist = dist or DistContext()
    objective = build_objective(exp)
    if dist.enabled and exp.loss.kind == "cyclegan":
        raise MrsynthError("distributed training supports the paired and nec losses; run cyclegan in one process")
    uses_d = objective.uses_discriminator() and nets.discriminator is not None
    nets.generator.to(device)
    if nets.discriminator is not None:
        nets.discriminator.to(device)
    if dist.enabled and len(train) < exp.train.batch_size * dist.world:
        raise MrsynthError(f"{len(train)} training slices cannot fill one batch of {exp.train.batch_size} on each of {dist.world} processes")
    opt_g, opt_d, sched_g, sched_d = _optimisers(exp, nets, uses_d)
    generator, discriminator = wrap(nets.generator, dist, device), wrap(nets.discriminator if uses_d else None, dist, device)
    amp = exp.train.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    state = {"epoch": 0, "step": 0, "history": [], "best_value": None, "best_epoch": None}
    if resume:
        _restore(resume, nets, opt_g, opt_d, sched_g, sched_d, scaler)
        objective.load_state_dict(resume.get("objective") or {})
        state.update({k: resume[k] for k in state})
    pin = device.type == "cuda"
    mode = exp.eval.select_mode
    for epoch in range(state["epoch"], exp.train.epochs):
        torch.manual_seed(exp.train.seed * 100_003 + epoch)  # dropout etc.: a pure function of (seed, epoch)
        started = time.perf_counter()
        sums: dict[str, torch.Tensor] = {}
        first_step = state["step"]
        steps = steps_per_epoch(len(train), exp.train.batch_size * dist.world)
        batches = train.epoch_batches(exp.train.batch_size, exp.train.seed, epoch, exp.train.flips, pin, dist.rank, dist.world)
        bar = tqdm(batches, total=steps, desc=f"epoch {epoch + 1}/{exp.train.epochs}", leave=False,
                   disable=not progress or not dist.is_main)
        for batch in bar:
            batch = batch.to(device, non_blocking=pin)
            with torch.autocast(device.type, enabled=amp):
                outputs = objective.forward(generator, batch)
            terms: dict[str, torch.Tensor] = {}
            if uses_d:
                opt_d.zero_grad(set_to_none=True)
                with torch.autocast(device.type, enabled=amp):
                    terms["d_loss"] = objective.discriminator_loss(discriminator, batch, outputs)
                scaler.scale(terms["d_loss"]).backward()
                scaler.step(opt_d)
            opt_g.zero_grad(set_to_none=True)
            with torch.autocast(device.type, enabled=amp):
                terms.update(objective.generator_terms(generator, discriminator, batch, outputs))
            _check_finite(terms, epoch, state["step"])
            scaler.scale(terms["g_total"]).backward()
            scaler.step(opt_g)
            scaler.update()
            state["step"] += 1
            for name, value in terms.items():
                sums[name] = sums[name] + value.detach() if name in sums else value.detach()
            done = state["step"] - first_step
            if done % 10 == 1:  # a device sync, so not every step
                bar.set_postfix({k: f"{float(v) / done:.3f}" for k, v in sums.items() if k in TOTALS})
        bar.close()
        metrics = mean_over_ranks(dist, {f"train/{k}": float(v) / steps for k, v in sums.items()})
        metrics["lr/generator"] = opt_g.param_groups[0]["lr"]
        if opt_d:
            metrics["lr/discriminator"] = opt_d.param_groups[0]["lr"]
        sched_g.step()
        if sched_d:
            sched_d.step()
        last = epoch + 1 == exp.train.epochs
        state["epoch"] = epoch + 1
        if not dist.is_main:
            state["history"].append(metrics)
            continue
        if (epoch + 1) % exp.eval.every == 0 or last:
            val_metrics, val_preds = validate()
            metrics.update(val_metrics)
            value = val_metrics.get(exp.eval.select_by)
            if _is_better(value, state["best_value"], mode):
                state["best_value"], state["best_epoch"] = value, epoch + 1
                save_checkpoint(ckpt_dir / BEST, {"generator": nets.generator.state_dict(), "epoch": epoch + 1,
                                                  "select_by": exp.eval.select_by, "value": value})
            hooks.validated(epoch + 1, val_metrics, val_preds)
        metrics["time/epoch_seconds"] = time.perf_counter() - started
        state["history"].append(metrics)
        hooks.epoch_end(epoch + 1, metrics)
        save_checkpoint(ckpt_dir / LAST, {**_snapshot(state, nets, opt_g, opt_d, sched_g, sched_d, scaler),
                                          "objective": objective.state_dict()})
    return FitResult(state["history"], state["best_value"], state["best_epoch"], state["epoch"])


def _snapshot(state, nets, opt_g, opt_d, sched_g, sched_d, scaler) -> dict[str, Any]:
    return {**state, "generator": nets.generator.state_dict(),
            "discriminator": nets.discriminator.state_dict() if nets.discriminator is not None else None,
            "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict() if opt_d else None,
            "sched_g": sched_g.state_dict(), "sched_d": sched_d.state_dict() if sched_d else None,
            "scaler": scaler.state_dict(), "rng": rng_state()}


def _restore(ckpt, nets, opt_g, opt_d, sched_g, sched_d, scaler) -> None:
    nets.generator.load_state_dict(ckpt["generator"])
    if nets.discriminator is not None and ckpt.get("discriminator") is not None:
        nets.discriminator.load_state_dict(ckpt["discriminator"])
    opt_g.load_state_dict(ckpt["opt_g"])
    sched_g.load_state_dict(ckpt["sched_g"])
    if opt_d and ckpt.get("opt_d"):
        opt_d.load_state_dict(ckpt["opt_d"])
        sched_d.load_state_dict(ckpt["sched_d"])
    if ckpt.get("scaler"):
        scaler.load_state_dict(ckpt["scaler"])
    set_rng_state(ckpt["rng"])
