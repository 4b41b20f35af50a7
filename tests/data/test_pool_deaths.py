"""Processes that die: a preprocessing worker killed mid-build (as the OOM killer would) is named and, under
`skip`, left out while the others finish; a killed `mrsynth preprocess` takes its pool workers with it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mrsynth.cache import CacheStore
from mrsynth.data.layouts import subject_table
from mrsynth.data.prepare import prepare_data
from mrsynth.data.preprocessed import fingerprints, preprocess_key
from mrsynth.errors import DataError
from mrsynth.spec.load import load_spec
from mrsynth_testing import tiny_spec_data

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")]


class Assassin(threading.Thread):
    """Kills every process that starts building the cache entry `key` (its pid is in the temp folder's name)."""

    def __init__(self, store: CacheStore, key: str):
        super().__init__(daemon=True)
        self.store, self.key, self.victims, self.done = store, key, set(), threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for tmp in self.store.root.glob(f"preprocess/.tmp-{self.key}-*"):
                pid = int(tmp.name.split("-")[2])
                if pid not in self.victims and pid != os.getpid():
                    self.victims.add(pid)
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)


def spec_for(write_spec, root: Path, **data):
    return load_spec(write_spec("pool", tiny_spec_data(root, "pool", data=data) if data else tiny_spec_data(root, "pool")))


def key_of(loaded, subject: str) -> str:
    table = subject_table(loaded.experiment.data.dataset, loaded.base_dir)
    files = next(f for f in table.subjects if f.subject == subject)
    spec = loaded.experiment.data.preprocess
    return preprocess_key(fingerprints(files, spec), spec)


@pytest.mark.parametrize("policy", ["error", "skip"])
def test_a_killed_worker_names_its_subject_and_skip_goes_on(policy, tiny_demo, tmp_path, write_spec):
    store = CacheStore(tmp_path / "cache")
    loaded = spec_for(write_spec, tiny_demo, on_bad_subject=policy)
    assassin = Assassin(store, key_of(loaded, "03"))
    assassin.start()
    try:
        if policy == "error":
            with pytest.raises(DataError) as caught:
                prepare_data(loaded, store, workers=2, progress=False)
            assert "subject 03" in str(caught.value) and "died" in str(caught.value)
        else:
            data = prepare_data(loaded, store, workers=2, progress=False)
            assert list(data.skipped) == ["03"] and sorted(data.preprocess_keys) == ["01", "02", "04"]
    finally:
        assassin.done.set()
    assert len(assassin.victims) >= 2  # once in the shared pool, once alone
    assert not [e for e in store.entries() if e.manifest["meta"].get("subject") == "03"]


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_killing_preprocess_ends_its_pool_workers(tiny_demo, tmp_path, write_spec):
    root = tmp_path / "demo"
    shutil.copytree(tiny_demo, root)
    spec = write_spec("orphans", tiny_spec_data(root, "orphans"))
    env = {**os.environ, "MRSYNTH_CACHE": str(tmp_path / "cache")}
    main = subprocess.Popen([sys.executable, "-m", "mrsynth", "preprocess", str(spec), "--workers", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline, workers = time.monotonic() + 60, set()
        while len(workers) < 2 and time.monotonic() < deadline and main.poll() is None:
            workers = {p for p in children_of(main.pid) if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()}
            time.sleep(0.05)
        assert len(workers) >= 2, "the pool never started"
        os.kill(main.pid, signal.SIGKILL)
        main.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in workers if alive(p)]
    finally:
        if main.poll() is None:
            os.killpg(main.pid, signal.SIGKILL)
        for pid in children_of(main.pid):
            os.kill(pid, signal.SIGKILL)
