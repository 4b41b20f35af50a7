"""Wall time of `mrsynth --help`, `mrsynth validate` (all specs) and `mrsynth demo-data` at the default size.

Run with `python benchmarks/bench_cli.py [--tiny]` (or `make bench`). --tiny (CI): each command once,
demo-data at 3 subjects of 32x32x24.
"""

from __future__ import annotations

import argparse
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
        done = subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:  # a broken command must fail the benchmark, and say why
            sys.exit(f"bench_cli: mrsynth {' '.join(cmd[3:])} exited {done.returncode}:\n{done.stderr}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="each command once, a tiny demo: checks the benchmark runs (CI)")
    tiny = parser.parse_args().tiny
    repeat, size = (1, ["--subjects", "3", "--shape", "32", "32", "24"]) if tiny else (5, [])
    with tempfile.TemporaryDirectory() as tmp:
        demo = [*MRSYNTH, "demo-data", "--out", str(Path(tmp) / "demo"), *size]
        rows = [
            ("mrsynth --help", wall([*MRSYNTH, "--help"], repeat), "< 0.5 s"),
            ("mrsynth validate (all specs)", wall([*MRSYNTH, "validate"], repeat), "< 0.5 s"),
            (f"mrsynth demo-data ({'tiny' if tiny else 'default'} size)", wall(demo, 1), "-"),
        ]
    print(f"{'command':<34} {'median s':>9} {'min s':>7}  goal")
    for name, times, goal in rows:
        print(f"{name:<34} {statistics.median(times):>9.3f} {min(times):>7.3f}  {goal}")


if __name__ == "__main__":
    main()
