"""`mrsynth ui` serves the tracking store: the real command is started and its REST API lists a finished run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mrsynth.tracking import Tracker

HOST = "127.0.0.1"
STARTUP_SECONDS = 90  # mlflow server imports a lot; a loaded 2-core machine needs tens of seconds
LINUX = Path("/proc/net/tcp").exists()
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never route loopback through an http_proxy


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def api(port: int, path: str, body: dict | None = None, timeout: float = 30.0) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://{HOST}:{port}/api/2.0/mlflow/{path}", data=data,
                                     headers={"Content-Type": "application/json"}, method="POST" if data else "GET")
    with DIRECT.open(request, timeout=timeout) as response:
        return json.loads(response.read())


def start_ui(uri: str, port: int, log: Path) -> subprocess.Popen:
    """`mrsynth ui` as a user starts it, in its own session, output to `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "mrsynth", "ui", "--tracking-uri", uri, "--port", str(port)],
                                cwd=log.parent, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def wait_until_serving(port: int, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mrsynth ui exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            api(port, "experiments/search?max_results=10", timeout=5.0)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            time.sleep(0.5)
    pytest.fail(f"mrsynth ui did not answer on port {port} within {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


def stop(server: subprocess.Popen) -> None:
    """The server runs in its own session (mlflow starts worker children): end that whole group, then reap."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)


def wait_until_closed(port: int, seconds: float = 15) -> set[str]:
    """Addresses still listening on `port` once it closed or `seconds` passed (workers exit just after their parent)."""
    deadline = time.monotonic() + seconds
    while listening_addresses(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    return listening_addresses(port)


@pytest.fixture
def tracked_run(tmp_path) -> tuple[str, str, str]:
    """A finished run in a fresh SQLite store, logged through the project's Tracker: (uri, experiment id, run id)."""
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    tracker = Tracker(uri)
    run_id = tracker.start("uifam", "ui-tiny", {"spec_hash": "abc123"})
    tracker.log_metrics({"test/psnr_brain": 21.5, "test/identity_psnr_brain": 18.0}, step=2)
    tracker.end("FINISHED")
    return uri, tracker.experiment_id("uifam"), run_id


def test_ui_serves_the_tracking_store_on_localhost(tracked_run, tmp_path):
    uri, experiment_id, run_id = tracked_run
    port, log = free_port(), tmp_path / "ui.log"
    server = start_ui(uri, port, log)
    try:
        wait_until_serving(port, server, log)
        experiments = api(port, "experiments/search?max_results=100")["experiments"]
        assert "uifam" in {e["name"] for e in experiments}
        runs = api(port, "runs/search", {"experiment_ids": [experiment_id]})["runs"]
        assert [r["info"]["run_id"] for r in runs] == [run_id]
        (run,) = runs
        assert run["info"]["status"] == "FINISHED" and run["info"]["run_name"] == "ui-tiny"
        metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
        assert metrics["test/psnr_brain"] == pytest.approx(21.5)
        if LINUX:
            assert listening_addresses(port) == {HOST}  # never 0.0.0.0 or another interface
    finally:
        stop(server)
    assert server.poll() is not None
    if LINUX:
        assert wait_until_closed(port) == set()
    assert f"MLflow UI for {uri} at http://{HOST}:{port}" in log.read_text(errors="replace")


def listening_addresses(port: int) -> set[str]:
    """IPv4/IPv6 addresses with a socket listening on `port`, read from /proc/net (Linux; empty elsewhere)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        lines = Path(table).read_text().splitlines()[1:] if Path(table).exists() else []
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(_address(address))
    return found


def _address(hex_address: str) -> str:
    if len(hex_address) == 8:  # IPv4, little-endian
        return socket.inet_ntop(socket.AF_INET, bytes.fromhex(hex_address)[::-1])
    words = [bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, 32, 8)]
    return socket.inet_ntop(socket.AF_INET6, b"".join(words))


def test_ui_stops_with_its_server_on_sigint_to_its_pid(tracked_run, tmp_path):
    """`kill -INT PID` (not the group) ends the UI and the MLflow server it started: nothing keeps listening."""
    uri, _, _ = tracked_run
    port, log = free_port(), tmp_path / "ui.log"
    server = start_ui(uri, port, log)
    try:
        wait_until_serving(port, server, log)
        os.kill(server.pid, signal.SIGINT)
        assert server.wait(timeout=30) == 0
    finally:
        stop(server)
    if LINUX:
        assert wait_until_closed(port) == set()
