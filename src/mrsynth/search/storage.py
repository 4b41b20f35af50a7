"""Where a study lives: a SQLite file in the project by default, PostgreSQL for many machines.

Every study uses heartbeats: a trial whose worker stops beating for `grace` seconds is failed by the
next worker that looks, its child run is marked failed, and its parameters are queued again."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mrsynth.errors import MrsynthError
from mrsynth.paths import project_root

ENV_STORAGE = "MRSYNTH_SEARCH_STORAGE"
DEFAULT_HEARTBEAT = 10  # seconds between a running trial's heartbeats
MAX_RETRY = 3  # a trial whose worker dies this often is left failed


def default_storage() -> str:
    """`$MRSYNTH_SEARCH_STORAGE`, else `optuna.db` at the project root."""
    return os.environ.get(ENV_STORAGE) or f"sqlite:///{project_root() / 'optuna.db'}"


def redact(url: str) -> str:
    """The URL without its password, for logs, tags and messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def with_driver(url: str) -> str:
    """`postgresql://` means psycopg 3 to SQLAlchemy 2.1; the project ships psycopg2, so name it unless psycopg is there."""
    import importlib.util

    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme) and importlib.util.find_spec("psycopg") is None:
            return "postgresql+psycopg2://" + url.removeprefix(scheme)
    return url


def _engine_kwargs(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 60}}  # several local workers take turns at the file lock
    return {"pool_pre_ping": True}


def open_storage(url: str, heartbeat: int = DEFAULT_HEARTBEAT, grace: int | None = None,
                 on_stale: Callable[[Any, Any], None] | None = None) -> Any:
    """An Optuna RDB storage with heartbeats; a bad URL or an unreachable server is a one-line error."""
    import optuna

    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if grace is not None and grace <= heartbeat:
        raise MrsynthError(f"--grace must exceed --heartbeat ({heartbeat} s) (got {grace})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats are "experimental" since 2.x
            return optuna.storages.RDBStorage(with_driver(url), engine_kwargs=_engine_kwargs(url), heartbeat_interval=heartbeat,
                                              grace_period=grace, heartbeat_stale_trial_callback=on_stale)
    except ImportError as exc:
        raise MrsynthError(f"--storage {redact(url)}: missing database driver: {exc} (pip install psycopg2-binary)") from None
    except Exception as exc:  # sqlalchemy raises many kinds; all mean the same thing to the user
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MrsynthError(f"--storage {redact(url)}: cannot open the study storage: {reason}") from None
