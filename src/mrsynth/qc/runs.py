"""The metrics of a block of slices, computed run by run so every temporary stays in the CPU cache.

A run is a few consecutive slices (about CHUNK_VOXELS in-plane voxels) with their k neighbours
either side; runs are independent, so they are spread over threads (numpy releases the GIL inside
its loops). Per run and offset d, the voxels of M_d = source mask ∩ target mask of slice z+d are
gathered once; the d = 0 gather also feeds Dice, NCC and the edge correlation.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from mrsynth.qc.correlation import interior_sobel_magnitude, segment_pearson
from mrsynth.qc.mi import Segments, pair_histograms, slice_counts_of
from mrsynth.qc.stack import in_plane_box

CHUNK_VOXELS = 1 << 17
"""In-plane voxels per run: a run's float64 temporaries fit in a 2 MB L2 cache."""
THREADS_VARIABLE = "MRSYNTH_QC_THREADS"


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

    `stacks` are source, target, source mask, target mask as (n + 2k, h, w) blocks with k slices of
    padding (empty masks where the volume ends) on both ends and a one-pixel in-plane rim.
    """
    k, n = max_offset, stacks[0].shape[0] - 2 * max_offset
    step = max(1, CHUNK_VOXELS // (stacks[0].shape[1] * stacks[0].shape[2]))
    joint = np.empty((n, 2 * k + 1, bins, bins), dtype=np.intp)
    per_slice = [np.empty(n) for _ in range(3)]

    def process(start: int) -> None:
        run = slice(start, min(start + step, n))
        window = [s[start : run.stop + 2 * k] for s in stacks]  # the run and its k neighbours either side
        box = (slice(None), *in_plane_box(window[2] | window[3]))  # the run's own box: less to filter and scan
        joint[run], *values = _run_metrics(*(w[box] for w in window), k, bins)
        for out, value in zip(per_slice, values, strict=True):
            out[run] = value

    workers = min(qc_threads(), -(-n // step))
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(process, range(0, n, step)))
    else:
        for start in range(0, n, step):
            process(start)
    return joint, per_slice


def _run_metrics(src, tgt, src_mask, tgt_mask, k: int, bins: int) -> tuple[np.ndarray, ...]:
    rows = src.shape[0] - 2 * k
    centre = slice(k, k + rows)
    joint = np.empty((rows, 2 * k + 1, bins, bins), dtype=np.intp)
    for column in range(2 * k + 1):
        shifted = slice(column, column + rows)
        mask = src_mask[centre] & tgt_mask[shifted]
        segments = Segments.of_mask(mask)
        src_values, tgt_values = src[centre][mask], tgt[shifted][mask]
        if column == k:
            dice, ncc, edges = _intersection_metrics(src[centre], tgt[centre], src_mask[centre], tgt_mask[centre],
                                                     mask, segments, src_values, tgt_values)
        joint[:, column] = pair_histograms(src_values, tgt_values, segments, bins)
    return joint, dice, ncc, edges


def _intersection_metrics(src, tgt, src_mask, tgt_mask, mask, segments, src_values, tgt_values) -> tuple[np.ndarray, ...]:
    """Per slice: Dice of the masks and, over their intersection, Pearson of intensities and of Sobel magnitudes."""
    total = slice_counts_of(src_mask) + slice_counts_of(tgt_mask)
    with np.errstate(invalid="ignore", divide="ignore"):
        dice = np.where(total > 0, 2.0 * segments.counts / total, np.nan)
    ncc = segment_pearson(src_values, tgt_values, segments)
    inner = mask[:, 1:-1, 1:-1]  # the block's one-pixel rim holds no masked voxel
    edges = segment_pearson(interior_sobel_magnitude(src)[inner], interior_sobel_magnitude(tgt)[inner], segments)
    return dice, ncc, edges
