"""QC throughput: vectorised slice-pair metrics vs the per-slice reference on a real BraTS pair.

Run with `python benchmarks/bench_qc.py [--tiny]` (or `make bench`). Checks that both give the same table,
then times them in alternation (so both see the same machine load): slice pairs per second of
each, the fastest of several runs, wall clock and CPU time (the vectorised one uses
$MRSYNTH_QC_THREADS threads, default all CPUs; the reference one). The first call, which loads or
compiles the numba kernels, is timed on its own and left out. Skips when the real data is absent.
--tiny (CI): the middle 16 axial slices, one round of each: checks the values agree, times nothing useful.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from mrsynth.qc.metrics import slice_pair_metrics
from mrsynth.qc.reference import reference_slice_metrics
from mrsynth.qc.runs import qc_threads

PAIR_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mri" / "brats_gli_00001"
SOURCE, TARGET = "BraTS-GLI-00001-000-t1n.nii.gz", "BraTS-GLI-00001-000-t2w.nii.gz"
ROUNDS, FAST_PER_ROUND = 3, 5
TINY_SLICES = 16


def timed(run) -> tuple[float, float, pd.DataFrame]:
    """Wall and CPU seconds of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    table = run()
    return time.perf_counter() - wall, time.process_time() - cpu, table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a 16-slice slab, one round: checks the benchmark runs (CI)")
    tiny = parser.parse_args().tiny
    if not (PAIR_DIR / SOURCE).exists():
        print(f"bench_qc: skipped, {PAIR_DIR} not found")
        return 0
    source = np.asanyarray(nib.load(PAIR_DIR / SOURCE).dataobj, dtype=np.float32)
    target = np.asanyarray(nib.load(PAIR_DIR / TARGET).dataobj, dtype=np.float32)
    rounds, fast_per_round = (1, 1) if tiny else (ROUNDS, FAST_PER_ROUND)
    if tiny:
        middle = slice(source.shape[2] // 2 - TINY_SLICES // 2, source.shape[2] // 2 + TINY_SLICES // 2)
        source, target = np.ascontiguousarray(source[:, :, middle]), np.ascontiguousarray(target[:, :, middle])
    args = dict(axis=2, max_offset=2, bins=32, min_brain_fraction=0.1)
    fast_run, ref_run = (lambda: slice_pair_metrics(source, target, **args)), (lambda: reference_slice_metrics(source, target, **args))
    first, _, fast = timed(fast_run)
    times = {"reference": [], "vectorised": []}
    for _ in range(rounds):  # alternate, so a burst of load elsewhere hits both
        *ref_times, ref = timed(ref_run)
        times["reference"].append(ref_times)
        times["vectorised"] += [timed(fast_run)[:2] for _ in range(fast_per_round)]
    pd.testing.assert_frame_equal(fast, ref, check_dtype=False, rtol=1e-6, atol=1e-12)
    n = len(fast)
    best = {name: np.min(np.asarray(runs), axis=0) for name, runs in times.items()}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"QC slice-pair metrics, {source.shape} BraTS t1n vs t2w, k=2, {n} brain slices, values equal")
    print(f"{qc_threads()} threads, {os.cpu_count()} CPUs, load average {load}; first call {first:.2f} s (kernel load)")
    print(f"{'implementation':<14}{'wall s':>9}{'pairs/s':>10}{'cpu s':>9}{'pairs/cpu s':>13}")
    for name, (wall, cpu) in best.items():
        print(f"{name:<14}{wall:>9.3f}{n / wall:>10.0f}{cpu:>9.3f}{n / cpu:>13.0f}")
    (ref_wall, ref_cpu), (fast_wall, fast_cpu) = best["reference"], best["vectorised"]
    print(f"speedup: {ref_wall / fast_wall:.1f}x wall, {ref_cpu / fast_cpu:.1f}x cpu (goal >= 20x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
