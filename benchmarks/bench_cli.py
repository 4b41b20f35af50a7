"""Wall time of `mrsynth --help`, `mrsynth validate` (all specs) and `mrsynth demo-data` at the default size."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MRSYNTH = [sys.executable, "-m", "mrsynth"]


def wall(cmd: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            ("mrsynth --help", wall([*MRSYNTH, "--help"], 5), "< 0.5 s"),
            ("mrsynth validate (all specs)", wall([*MRSYNTH, "validate"], 5), "< 0.5 s"),
            ("mrsynth demo-data (default size)", wall([*MRSYNTH, "demo-data", "--out", str(Path(tmp) / "demo")], 1), "-"),
        ]
    print(f"{'command':<34} {'median s':>9} {'min s':>7}  goal")
    for name, times, goal in rows:
        print(f"{name:<34} {statistics.median(times):>9.3f} {min(times):>7.3f}  {goal}")


if __name__ == "__main__":
    main()
