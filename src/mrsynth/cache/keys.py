"""Cache keys: a hash of exactly what a stage depends on."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from mrsynth.spec.experiment import canonical_json


def stage_key(stage: str, version: int, inputs: dict[str, Any]) -> str:
    """sha256 of the stage name, its code version and its inputs (fingerprints, spec section, upstream keys)."""
    payload = canonical_json({"stage": stage, "version": version, "inputs": inputs})
    return hashlib.sha256(payload.encode()).hexdigest()


def file_fingerprint(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes: a renamed or touched file keeps its fingerprint, an edited one does not."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
