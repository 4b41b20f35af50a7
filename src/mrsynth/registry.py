"""The run registry: one JSON record per executed run under `registry/runs/<spec name>/`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mrsynth.errors import MrsynthError
from mrsynth.fsutil import atomic_write_json
from mrsynth.paths import registry_dir

RECORD_VERSION = 1
STATUSES = ("RUNNING", "FINISHED", "FAILED", "KILLED")
REQUIRED = ("record_version", "run_id", "spec_name", "spec_hash", "resolved_spec", "status", "started_at")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_record(run_id: str, spec_name: str, spec_hash: str, resolved_spec: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A record with every field the format defines; `fields` fills the optional ones."""
    record = {
        "record_version": RECORD_VERSION,
        "run_id": run_id,
        "spec_name": spec_name,
        "spec_hash": spec_hash,
        "spec_path": None,
        "extends_chain": [],
        "resolved_spec": resolved_spec,
        "cache_keys": {},
        "data_fingerprint": None,
        "code_version": {},
        "mlflow": {},
        "run_dir": None,
        "model_path": None,
        "status": "RUNNING",
        "reason": None,
        "metrics": {},
        "started_at": now(),
        "ended_at": None,
    }
    unknown = set(fields) - set(record)
    if unknown:
        raise ValueError(f"unknown record fields: {sorted(unknown)}")
    record.update(fields)
    return record


def record_path(record: dict[str, Any], root: Path | None = None) -> Path:
    return (root or registry_dir()) / "runs" / record["spec_name"] / f"{record['run_id']}.json"


def write_record(record: dict[str, Any], root: Path | None = None) -> Path:
    """Write (or replace) a run's record atomically."""
    if record["status"] not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES} (got {record['status']!r})")
    path = record_path(record, root)
    atomic_write_json(path, record)
    return path


def read_record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise MrsynthError(f"{path}: unreadable registry record: {exc}") from None
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise MrsynthError(f"{path}: registry record lacks {', '.join(missing)}")
    return record


def iter_records(root: Path | None = None) -> Iterator[dict[str, Any]]:
    """Every record, oldest first."""
    runs = (root or registry_dir()) / "runs"
    records = [read_record(p) for p in runs.glob("*/*.json")] if runs.is_dir() else []
    yield from sorted(records, key=lambda r: (r["started_at"], r["run_id"]))


def find_records(key: str, root: Path | None = None) -> list[dict[str, Any]]:
    """Records whose spec name equals `key`, or whose spec hash or run id starts with it (6+ characters)."""
    def matches(record: dict[str, Any]) -> bool:
        if record["spec_name"] == key:
            return True
        return len(key) >= 6 and (record["spec_hash"].startswith(key) or record["run_id"].startswith(key))

    return [r for r in iter_records(root) if matches(r)]


def stale_hashes(spec_name: str, current_hash: str, root: Path | None = None) -> list[str]:
    """Hashes of registered runs of `spec_name` that differ from the spec's current hash."""
    runs = (root or registry_dir()) / "runs" / spec_name
    if not runs.is_dir():
        return []
    hashes = {read_record(p)["spec_hash"] for p in runs.glob("*.json")}
    return sorted(h for h in hashes if h != current_hash)
