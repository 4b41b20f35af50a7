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


@dataclass(frozen=True)
class WorkerExit:
    index: int
    pid: int
    code: int  # negative: killed by that signal

    @property
    def died(self) -> bool:
        return self.code not in (0, 130)

    def __str__(self) -> str:
        how = f"was killed by {signal_name(-self.code)}" if self.code < 0 else f"exited with code {self.code}"
        return f"worker {self.index} (pid {self.pid}) {how}"


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time or platform-specific signal has no name in the enum
        return f"signal {number}"


def run_workers(args: WorkerArgs, count: int) -> list[WorkerExit]:
    """Start `count` workers and wait for all; Ctrl-C is forwarded once to each. Returns how each ended."""
    # Storage and tracking URIs travel in the environment: a password never shows in `ps`.
    env = {**os.environ, ENV_STORAGE: args.storage, "MLFLOW_TRACKING_URI": args.tracking_uri}
    # Own sessions: the terminal's Ctrl-C reaches only this process, which forwards exactly one SIGINT.
    procs = [subprocess.Popen(worker_command(args, i), env=env, start_new_session=True) for i in range(count)]
    print(f"started {count} workers: pids {' '.join(str(p.pid) for p in procs)}", flush=True)
    try:
        for p in procs:
            p.wait()
    except KeyboardInterrupt:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait()
    return [WorkerExit(i, p.pid, p.returncode) for i, p in enumerate(procs)]
