"""The search space as data: spec distributions → Optuna suggestions, grids, and override dictionaries."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from mrsynth.errors import MrsynthError
from mrsynth.spec.search import Distribution


def suggest(trial: Any, path: str, dist: Distribution) -> Any:
    """One value for `path` from an Optuna trial (a re-queued trial returns its fixed value)."""
    if dist.kind == "float":
        return trial.suggest_float(path, dist.low, dist.high, log=dist.log, step=dist.step)
    if dist.kind == "int":
        return trial.suggest_int(path, dist.low, dist.high, log=dist.log, step=dist.step)
    return trial.suggest_categorical(path, list(dist.choices))


def sample_overrides(trial: Any, space: Mapping[str, Distribution]) -> dict[str, Any]:
    return {path: suggest(trial, path, dist) for path, dist in space.items()}


def grid_values(space: Mapping[str, Distribution]) -> dict[str, list[Any]]:
    """Every value of every dimension, for the grid sampler; a float needs a `step` to have a grid."""
    grid: dict[str, list[Any]] = {}
    for path, dist in space.items():
        if dist.kind == "categorical":
            grid[path] = list(dist.choices)
        elif dist.kind == "int":
            grid[path] = list(range(dist.low, dist.high + 1, dist.step))
        elif dist.step is None:
            raise MrsynthError(f"search.space.{path}: the grid sampler needs a `step` for a float distribution "
                               f"(or use sampler kind tpe/random)")
        else:
            count = math.floor((dist.high - dist.low) / dist.step + 1e-9)
            grid[path] = [round(dist.low + k * dist.step, 12) for k in range(count + 1)]
    return grid


def grid_size(space: Mapping[str, Distribution]) -> int:
    return math.prod(len(values) for values in grid_values(space).values())


def ordered(overrides: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """`kind` switches first (they reset their section), then everything else, shallow before deep."""
    def rank(item: tuple[str, Any]) -> tuple[int, int, str]:
        parts = item[0].split(".")
        return (0 if parts[-1] == "kind" else 1, len(parts), item[0])

    return sorted(overrides.items(), key=rank)


def nested(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted overrides as a nested spec fragment, e.g. {"loss.l1": 10} → {"loss": {"l1": 10}}."""
    out: dict[str, Any] = {}
    for path, value in ordered(overrides):
        node = out
        *parents, leaf = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return out


def describe(overrides: Mapping[str, Any]) -> str:
    return ", ".join(f"{path}={_short(value)}" for path, value in overrides.items())


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
