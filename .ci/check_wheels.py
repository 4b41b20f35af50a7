#!/usr/bin/env python3
"""Every pinned dependency (constraints.txt) has a wheel for every Python version pyproject.toml claims.

Resolves with `pip install --dry-run --only-binary :all:` per version: pip reads the wheels' metadata only,
so nothing is downloaded or installed. Exit 1 names the version and the packages without a wheel."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# pip does not widen a --platform tag to the older manylinux tags it implies: name them all.
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(5, 29)] + ["manylinux2014_x86_64", "manylinux2010_x86_64",
                                                                          "manylinux1_x86_64"]


def claimed_versions(spec: str) -> list[str]:
    """'>=3.11,<3.14' → ['3.11', '3.12', '3.13']."""
    low = re.search(r">=\s*3\.(\d+)", spec)
    high = re.search(r"<\s*3\.(\d+)", spec)
    if not (low and high):
        sys.exit(f"check_wheels: requires-python must read '>=3.X,<3.Y' (got {spec!r})")
    return [f"3.{minor}" for minor in range(int(low[1]), int(high[1]))]


def main() -> int:
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    pins = [line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line and not line.startswith("#")]
    failed = []
    for version in claimed_versions(spec):
        with tempfile.TemporaryDirectory() as target:
            command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps", "--quiet",
                       "--only-binary", ":all:", "--python-version", version, "--target", target,
                       *[arg for platform in PLATFORMS for arg in ("--platform", platform)], *pins]
            done = subprocess.run(command, capture_output=True, text=True)
        missing = sorted(set(re.findall(r"No matching distribution found for (\S+)", done.stderr)))
        status = "ok" if done.returncode == 0 else f"FAILED {', '.join(missing) or done.stderr.strip()[-300:]}"
        print(f"check_wheels: Python {version}: {len(pins)} pinned packages: {status}")
        if done.returncode:
            failed.append(version)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
