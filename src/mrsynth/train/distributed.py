"""Data-parallel training across processes (torchrun): who am I, and the few collectives the loop needs."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def context_from_env() -> DistContext:
    """The process's place in a torchrun job (RANK, WORLD_SIZE, LOCAL_RANK), or a single process."""
    return DistContext(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0)))


def init(ctx: DistContext) -> None:
    """Join the process group: NCCL on GPUs, gloo on CPU."""
    import torch.distributed as dist

    if ctx.enabled and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo", rank=ctx.rank, world_size=ctx.world)


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        torch.distributed.barrier()


def mean_over_ranks(ctx: DistContext, values: dict[str, float]) -> dict[str, float]:
    if not ctx.enabled or not values:
        return values
    keys = sorted(values)
    tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    torch.distributed.all_reduce(tensor)
    return {k: float(v) / ctx.world for k, v in zip(keys, tensor.tolist(), strict=True)}


def wrap(module: torch.nn.Module | None, ctx: DistContext, device: torch.device) -> torch.nn.Module | None:
    """The module as the training step should call it: a DistributedDataParallel wrapper when distributed."""
    if module is None or not ctx.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def shutdown(ctx: DistContext) -> None:
    import torch.distributed as dist

    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()
