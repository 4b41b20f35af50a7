"""`make bench`: every benchmark script in this folder, one after another; exits 1 when any of them fails.

`--tiny` (CI, `.ci/run`) passes `--tiny` to each script: the same code paths at the smallest sizes, in
seconds, so a benchmark broken by a change in the code it measures cannot land. Its figures are not
measurements.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="each script at its smallest size: checks they run (CI)")
    tiny = parser.parse_args().tiny
    failed = []
    started = time.perf_counter()
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n== {script.name}{' --tiny' if tiny else ''} ==", flush=True)
        began = time.perf_counter()
        code = subprocess.run([sys.executable, str(script), *(["--tiny"] if tiny else [])]).returncode
        print(f"-- {script.name}: {time.perf_counter() - began:.0f} s{f', exit {code}' if code else ''}", flush=True)
        if code != 0:
            failed.append(script.name)
    print(f"\n{'tiny benchmarks' if tiny else 'benchmarks'}: {time.perf_counter() - started:.0f} s", end="")
    print(f"; failed: {', '.join(failed)}" if failed else "; all ran")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
