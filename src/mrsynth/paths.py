"""Where the project keeps things; each root can be moved by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "MRSYNTH_HOME"
ENV_REGISTRY = "MRSYNTH_REGISTRY"
ENV_CACHE = "MRSYNTH_CACHE"


def project_root() -> Path:
    """`$MRSYNTH_HOME`, else the nearest folder above the working directory holding `experiments/`."""
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "experiments").is_dir():
            return folder
    return here


def _from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).resolve() if value else default


def registry_dir() -> Path:
    return _from_env(ENV_REGISTRY, project_root() / "registry")


def cache_dir() -> Path:
    return _from_env(ENV_CACHE, project_root() / ".cache")


def experiments_dir() -> Path:
    return project_root() / "experiments"


def demo_data_dir() -> Path:
    return project_root() / "data" / "demo"


def mlruns_dir() -> Path:
    return project_root() / "mlruns"


ENV_RUNS = "MRSYNTH_RUNS"


def runs_dir() -> Path:
    """Local run folders (checkpoints for --resume); artifacts that matter are also logged to MLflow."""
    return _from_env(ENV_RUNS, project_root() / "runs")


def default_tracking_uri() -> str:
    return f"sqlite:///{mlruns_dir() / 'mlflow.db'}"
