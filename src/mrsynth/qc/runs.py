"""The metrics of a block of slices, run by run: compiled loops (`mrsynth.qc.native`) on threads.

A run is a few consecutive slices (about CHUNK_VOXELS in-plane voxels); each is scanned only
within its own in-plane box of the masks (no masked voxel lies outside it), and runs are
independent, so they are spread over threads when the compiled loops release the GIL (numba's
JIT loops do; the ahead-of-time build does not, and runs them one after another).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

CHUNK_VOXELS = 1 << 17
"""In-plane voxels per run: small runs keep both threads busy and the boxes tight."""
THREADS_VARIABLE = "MRSYNTH_QC_THREADS"
CONSTANT = 1e-12
"""A group whose variance about its pivot is below this fraction of its sum of squares is constant."""


def qc_threads() -> int:
    """Threads for the metrics: $MRSYNTH_QC_THREADS, else the CPUs this process may use."""
    raw = os.environ.get(THREADS_VARIABLE, "").strip()
    if not raw:
        return len(os.sched_getaffinity(0))
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{THREADS_VARIABLE} must be a positive integer, got {raw!r}")
    return int(raw)


def block_metrics(stacks: tuple[np.ndarray, ...], max_offset: int, bins: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """(n, 2k+1, bins, bins) offset joint histograms and per-slice [dice, ncc, edge_corr] of the centre slices.

    `stacks` are source, target (float32), source mask, target mask (bool) as C-contiguous
    (n + 2k, h, w) blocks with k slices of padding (empty masks where the volume ends) on both
    ends and a one-pixel in-plane rim that no mask reaches.
    """
    from mrsynth.qc.native import loops

    kernels = loops()
    k, n = max_offset, stacks[0].shape[0] - 2 * max_offset
    step = max(1, CHUNK_VOXELS // (stacks[0].shape[1] * stacks[0].shape[2]))
    joint = np.empty((n, 2 * k + 1, bins, bins), dtype=np.int64)
    stats = np.empty((n, 5))

    union = stacks[2] | stacks[3]
    rows_used, cols_used = union.any(axis=2), union.any(axis=1)  # per slice, once

    def process(start: int) -> None:
        stop = min(start + step, n)
        window = slice(start, stop + 2 * k)  # the run and its k neighbours either side
        box = (start, stop, *_used_range(rows_used[window]), *_used_range(cols_used[window]), k)
        kernels.joint_counts(*stacks, *box, bins, joint)
        kernels.intersection_stats(*stacks, *box, CONSTANT, stats)

    workers = min(qc_threads() if kernels.threads else 1, -(-n // step))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(process, range(0, n, step)))
    else:
        for start in range(0, n, step):
            process(start)
    source_count, target_count, both, ncc, edge_corr = stats.T
    with np.errstate(invalid="ignore", divide="ignore"):
        dice = np.where(source_count + target_count > 0, 2.0 * both / (source_count + target_count), np.nan)
    return joint, [dice, ncc, edge_corr]


def _used_range(used: np.ndarray) -> tuple[int, int]:
    """first, stop of the positions any slice of an (n, size) projection uses; (0, 0) when none."""
    index = np.flatnonzero(used.any(axis=0))
    return (int(index[0]), int(index[-1]) + 1) if index.size else (0, 0)
