"""Sampler and pruner from the spec's `search` section; optional packages are reported with their install command."""

from __future__ import annotations

import importlib.util
from typing import Any

from mrsynth.errors import MrsynthError
from mrsynth.search.space import grid_values
from mrsynth.spec.search import SearchSpec

# Packages a sampler needs beyond optuna itself, with the command that installs them.
SAMPLER_NEEDS: dict[str, tuple[str, ...]] = {"cmaes": ("cmaes",), "gp": ("torch", "scipy")}


def worker_seed(seed: int, worker: int, trials_before: int) -> int:
    """Workers (and re-runs of a study) must not replay each other's random draws; one fresh worker keeps `seed`."""
    return (seed + 7919 * worker + 104_729 * trials_before) % 2**31


def require_packages(kind: str) -> None:
    missing = [name for name in SAMPLER_NEEDS.get(kind, ()) if importlib.util.find_spec(name) is None]
    if missing:
        raise MrsynthError(f"search.sampler.kind: '{kind}' needs {', '.join(missing)}: "
                           f"pip install {' '.join(missing)}   (or use sampler kind tpe, random or grid)")


def build_sampler(search: SearchSpec, seed: int) -> Any:
    import optuna

    kind = search.sampler.kind
    require_packages(kind)
    startup = search.sampler.n_startup_trials
    if kind == "tpe":
        return optuna.samplers.TPESampler(n_startup_trials=startup, seed=seed, constant_liar=True)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "grid":
        return optuna.samplers.GridSampler(grid_values(search.space), seed=seed)
    if kind == "cmaes":
        return optuna.samplers.CmaEsSampler(n_startup_trials=startup, seed=seed, warn_independent_sampling=False)
    return optuna.samplers.GPSampler(n_startup_trials=startup, seed=seed, warn_independent_sampling=False)


def build_pruner(search: SearchSpec, epochs: int) -> Any:
    """Steps are epochs. The median pruner waits for `sampler.n_startup_trials` finished trials (at least 1)."""
    import optuna

    kind = search.pruner.kind
    warmup = search.pruner.n_warmup_steps
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=max(1, search.sampler.n_startup_trials), n_warmup_steps=warmup)
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=max(1, warmup), max_resource=max(epochs, max(1, warmup)))
    return optuna.pruners.NopPruner()
