"""Cache entries are built in a private temporary folder and renamed into place when complete.

A reader only trusts `<root>/<stage>/<key>/` folders that hold `entry.json`, which is written last,
inside the temporary folder, before the atomic rename; a build killed at any point leaves at most a
`.tmp-*` folder that no reader looks at and `gc` removes. A per-key lock (flock) keeps two runners
from building the same entry at once: the second waits, then finds the entry built.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrsynth.fsutil import atomic_write_json

MANIFEST = "entry.json"


@dataclass(frozen=True)
class Entry:
    stage: str
    key: str
    path: Path

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.path / MANIFEST).read_text())

    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())


class CacheStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.builds: list[tuple[str, str]] = []  # (stage, key) built by this process, oldest first

    def entry_path(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def get(self, stage: str, key: str) -> Entry | None:
        path = self.entry_path(stage, key)
        return Entry(stage, key, path) if (path / MANIFEST).is_file() else None

    @contextmanager
    def _lock(self, stage: str, key: str) -> Iterator[None]:
        lock_path = self.root / stage / f".{key}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def get_or_build(self, stage: str, key: str, build: Callable[[Path], dict[str, Any]], meta: dict[str, Any] | None = None) -> Entry:
        """The entry for (stage, key); `build(tmp_dir)` writes its files and returns facts for the manifest."""
        found = self.get(stage, key)
        if found:
            return found
        with self._lock(stage, key):
            found = self.get(stage, key)
            if found:
                return found
            tmp = self.root / stage / f".tmp-{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            tmp.mkdir(parents=True)
            try:
                started = time.perf_counter()
                facts = build(tmp) or {}
                manifest = {"stage": stage, "key": key, "meta": meta or {}, "facts": facts,
                            "build_seconds": round(time.perf_counter() - started, 3), "created": time.time()}
                atomic_write_json(tmp / MANIFEST, manifest)
                _fsync_dir(tmp)
                os.rename(tmp, self.entry_path(stage, key))
                _fsync_dir(tmp.parent)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        self.builds.append((stage, key))
        return Entry(stage, key, self.entry_path(stage, key))

    def entries(self) -> list[Entry]:
        if not self.root.is_dir():
            return []
        found = [Entry(p.parent.name, p.name, p) for p in self.root.glob("*/*") if (p / MANIFEST).is_file()]
        return sorted(found, key=lambda e: (e.stage, e.key))

    def stale_builds(self) -> list[Path]:
        """Temporary folders left by builds that died (their lock is free)."""
        stale = []
        for tmp in self.root.glob("*/.tmp-*"):
            key = tmp.name.split("-")[1]
            lock_path = tmp.parent / f".{key}.lock"
            with open(lock_path, "a") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live build owns it
                fcntl.flock(handle, fcntl.LOCK_UN)
            stale.append(tmp)
        return stale

    def leftovers(self) -> list[Path]:
        """What `gc` removes besides entries: folders of builds and removals that died half-way."""
        return self.stale_builds() + list(self.root.glob("*/.del-*"))

    def remove(self, entry: Entry) -> None:
        # Rename first so a concurrent reader never sees a half-deleted entry as complete.
        doomed = entry.path.with_name(f".del-{entry.key}-{uuid.uuid4().hex[:8]}")
        os.rename(entry.path, doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def gc(self, keep: set[str]) -> tuple[list[Entry], list[Path]]:
        """Remove entries whose key is not in `keep`, and leftovers of dead builds."""
        removed = [e for e in self.entries() if e.key not in keep]
        for entry in removed:
            self.remove(entry)
        leftovers = self.leftovers()
        for path in leftovers:
            shutil.rmtree(path, ignore_errors=True)
        return removed, leftovers


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
