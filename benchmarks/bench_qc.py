"""QC throughput: vectorised slice-pair metrics vs the per-slice reference on a real BraTS pair.

Run with `python benchmarks/bench_qc.py` (or `make bench`). Prints slice pairs per second of each
implementation (best of several runs, wall clock and CPU time) and the speedup, after checking that
both give the same table. Skips with a message when the real data is absent.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from mrsynth.qc.metrics import slice_pair_metrics
from mrsynth.qc.reference import reference_slice_metrics

PAIR_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mri" / "brats_gli_00001"
SOURCE, TARGET = "BraTS-GLI-00001-000-t1n.nii.gz", "BraTS-GLI-00001-000-t2w.nii.gz"


def best_time(run, repeats: int) -> tuple[float, float, pd.DataFrame]:
    """Fastest wall and CPU seconds of `repeats` calls, and the last result."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        table = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), table


def main() -> int:
    if not (PAIR_DIR / SOURCE).exists():
        print(f"bench_qc: skipped, {PAIR_DIR} not found")
        return 0
    source = np.asanyarray(nib.load(PAIR_DIR / SOURCE).dataobj, dtype=np.float32)
    target = np.asanyarray(nib.load(PAIR_DIR / TARGET).dataobj, dtype=np.float32)
    args = dict(axis=2, max_offset=2, bins=32, min_brain_fraction=0.1)
    fast_wall, fast_cpu, fast = best_time(lambda: slice_pair_metrics(source, target, **args), repeats=7)
    ref_wall, ref_cpu, ref = best_time(lambda: reference_slice_metrics(source, target, **args), repeats=2)
    pd.testing.assert_frame_equal(fast, ref, check_dtype=False, rtol=1e-6, atol=1e-12)
    n = len(fast)
    print(f"QC slice-pair metrics, {source.shape} BraTS t1n vs t2w, k=2, {n} brain slices, values equal")
    print(f"{'implementation':<14}{'wall s':>9}{'pairs/s':>10}{'cpu s':>9}{'pairs/cpu s':>13}")
    for name, wall, cpu in (("reference", ref_wall, ref_cpu), ("vectorised", fast_wall, fast_cpu)):
        print(f"{name:<14}{wall:>9.3f}{n / wall:>10.0f}{cpu:>9.3f}{n / cpu:>13.0f}")
    print(f"speedup: {ref_wall / fast_wall:.1f}x wall, {ref_cpu / fast_cpu:.1f}x cpu (goal >= 20x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
