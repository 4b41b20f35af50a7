"""`--workers N`: N worker processes on this machine, all on one study storage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mrsynth.search.storage import ENV_STORAGE


@dataclass(frozen=True)
class WorkerArgs:
    spec: Path
    study: str
    trials: int
    storage: str
    tracking_uri: str
    overrides: tuple[str, ...] = ()
    timeout: float | None = None
    heartbeat: int = 10
    grace: int | None = None


def worker_command(args: WorkerArgs, index: int) -> list[str]:
    command = [sys.executable, "-m", "mrsynth", "search", str(args.spec), "--study", args.study,
               "--trials", str(args.trials), "--worker-index", str(index), "--no-summary", "--heartbeat", str(args.heartbeat)]
    command += ["--grace", str(args.grace)] if args.grace else []
    command += ["--timeout", str(args.timeout)] if args.timeout else []
    for text in args.overrides:
        command += ["--set", text]
    return command


def run_workers(args: WorkerArgs, count: int) -> list[int]:
    """Start `count` workers and wait for all; Ctrl-C is forwarded once to each. Returns their exit codes."""
    # Storage and tracking URIs travel in the environment: a password never shows in `ps`.
    env = {**os.environ, ENV_STORAGE: args.storage, "MLFLOW_TRACKING_URI": args.tracking_uri}
    # Own sessions: the terminal's Ctrl-C reaches only this process, which forwards exactly one SIGINT.
    procs = [subprocess.Popen(worker_command(args, i), env=env, start_new_session=True) for i in range(count)]
    print(f"started {count} workers: pids {' '.join(str(p.pid) for p in procs)}", flush=True)
    try:
        return [p.wait() for p in procs]
    except KeyboardInterrupt:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        return [p.wait() for p in procs]
