"""Which code produced a result: the git commit and whether the tree had uncommitted changes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mrsynth import __version__


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_version(cwd: Path | None = None) -> dict[str, object]:
    cwd = cwd or Path(__file__).resolve().parent
    commit = _git(["rev-parse", "HEAD"], cwd)
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd) if commit else None
    return {"package": __version__, "commit": commit, "dirty": bool(status) if commit else None}
