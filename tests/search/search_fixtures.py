"""Helpers and fixtures of the search tests (imported by name: a second conftest.py would shadow the root one)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from mrsynth_testing import tiny_spec_data  # noqa: E402

THRESHOLD_SPACE = {
    "data.qc.min_mi": {"kind": "float", "low": 0.0, "high": 0.2},
    "loss.l1": {"kind": "float", "low": 10.0, "high": 200.0, "log": True},
    "masking.kind": {"kind": "categorical", "choices": ["none", "intersection"]},
}


def search_spec(root: Path, name: str = "tiny", space: dict | None = None, epochs: int = 2, **search) -> dict:
    """The tiny spec with a search over thresholds, λ and masking: trials that never rebuild the caches."""
    settings = {"space": space or THRESHOLD_SPACE, "n_trials": 4, "sampler": {"kind": "random"}, "pruner": {"kind": "none"}}
    spec = tiny_spec_data(root, name, train={"epochs": epochs, "decay_epochs": 1, "sample_every": epochs},
                          eval={"save_predictions": False}, search={**settings, **search})
    spec["data"]["on_bad_subject"] = "skip"  # which demo subjects preprocessing accepts is not what these tests check
    return spec


def write_json(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """$MRSYNTH_TEST_POSTGRES_URL (set by .ci/run), else a throw-away cluster on 127.0.0.1, else skip."""
    if os.environ.get("MRSYNTH_TEST_POSTGRES_URL"):
        yield os.environ["MRSYNTH_TEST_POSTGRES_URL"]
        return
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql) and MRSYNTH_TEST_POSTGRES_URL is not set")
    # Not under pytest's tmp folder: that is private to root, and the server runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="mrsynth-test-postgres-"))
    as_postgres = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(base, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = base / "data"
    pg_ctl = [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
                       check=True, capture_output=True, timeout=120)
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1"
        subprocess.run([*pg_ctl, "-o", options, "-l", str(base / "log"), "-w", "start"], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"cannot start a local PostgreSQL server: {exc} {detail.decode(errors='replace')[-300:]}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def wait_for(condition, timeout: float = 300.0, every: float = 0.5, what: str = "condition"):
    """Poll until `condition()` is truthy; returns its value."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def child_runs(tracking_uri: str, experiment: str) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    return [r for r in client.search_runs([found.experiment_id]) if r.data.tags.get("search.role") == "trial"]


def search_command(spec: Path, *args: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "mrsynth", "search", str(spec), *args]
