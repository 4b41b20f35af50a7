from __future__ import annotations

import multiprocessing
import os
import signal
import time

from mrsynth.cache import CacheStore, stage_key
from mrsynth.cache.store import MANIFEST


def write_value(value: str):
    def build(out):
        (out / "value.txt").write_text(value)
        return {"value": value}

    return build


def test_key_depends_on_stage_version_and_inputs():
    base = stage_key("s", 1, {"a": 1})
    assert base == stage_key("s", 1, {"a": 1})
    assert len({base, stage_key("t", 1, {"a": 1}), stage_key("s", 2, {"a": 1}), stage_key("s", 1, {"a": 2})}) == 4


def test_builds_once_then_reuses(tmp_path):
    store = CacheStore(tmp_path)
    first = store.get_or_build("stage", "k1", write_value("one"))
    second = store.get_or_build("stage", "k1", write_value("two"))
    assert (second.path / "value.txt").read_text() == "one"
    assert first.path == second.path and store.builds == [("stage", "k1")]
    assert first.manifest["facts"] == {"value": "one"}


def test_failed_build_leaves_nothing(tmp_path):
    store = CacheStore(tmp_path)

    def broken(out):
        (out / "half.txt").write_text("x")
        raise RuntimeError("boom")

    try:
        store.get_or_build("stage", "k1", broken)
    except RuntimeError:
        pass
    assert store.get("stage", "k1") is None
    assert not list((tmp_path / "stage").glob(".tmp-*"))
    assert store.entries() == []


def _build_forever(root: str, ready) -> None:
    def build(out):
        (out / "half.npy").write_bytes(b"x" * 1000)
        ready.set()
        time.sleep(60)
        return {}

    CacheStore(root).get_or_build("stage", "k1", build)


def test_sigkill_mid_build_is_never_read_and_gc_cleans_up(tmp_path):
    ready = multiprocessing.Event()
    proc = multiprocessing.Process(target=_build_forever, args=(str(tmp_path), ready))
    proc.start()
    assert ready.wait(30)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    store = CacheStore(tmp_path)
    assert store.get("stage", "k1") is None and store.entries() == []
    assert len(list((tmp_path / "stage").glob(".tmp-*"))) == 1
    rebuilt = store.get_or_build("stage", "k1", write_value("fresh"))
    assert (rebuilt.path / "value.txt").read_text() == "fresh"
    removed, leftovers = store.gc(keep={"k1"})
    assert removed == [] and len(leftovers) == 1
    assert not list((tmp_path / "stage").glob(".tmp-*"))


def _slow_build(root: str, log: str) -> None:
    def build(out):
        with open(log, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        time.sleep(1.0)
        (out / "value.txt").write_text("v")
        return {}

    CacheStore(root).get_or_build("stage", "shared", build)


def test_lock_keeps_two_runners_from_building_the_same_entry(tmp_path):
    log = tmp_path / "builds.log"
    procs = [multiprocessing.Process(target=_slow_build, args=(str(tmp_path / "cache"), str(log))) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
    assert all(proc.exitcode == 0 for proc in procs)
    assert len(log.read_text().split()) == 1
    assert (tmp_path / "cache" / "stage" / "shared" / MANIFEST).is_file()


def test_gc_removes_unreferenced_entries(tmp_path):
    store = CacheStore(tmp_path)
    store.get_or_build("a", "keep", write_value("1"))
    store.get_or_build("a", "drop", write_value("2"))
    removed, _ = store.gc(keep={"keep"})
    assert [e.key for e in removed] == ["drop"]
    assert [e.key for e in store.entries()] == ["keep"]
