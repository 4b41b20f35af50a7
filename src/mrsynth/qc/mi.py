"""Mutual information of joint histograms, and the binning rule they are built with.

Binning rule (shared by `mrsynth.qc.kernels` and the per-slice reference), in float32: over the
slice's mask, values x of one image with min lo and max hi get bin
min(trunc((x - lo) * (bins / (hi - lo))), bins - 1); a constant image (hi == lo) puts every voxel
in bin 0, which gives MI 0.
"""

from __future__ import annotations

import numpy as np


def _x_log_x(largest: int) -> np.ndarray:
    """c·log(c) for every count c in 0..largest (0 for c = 0)."""
    counts = np.arange(largest + 1, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counts > 0, counts * np.log(counts), 0.0)


def histogram_mi(joint: np.ndarray) -> np.ndarray:
    """Mutual information in nats of each (bins, bins) joint histogram in a (..., bins, bins) stack; NaN where empty.

    From integer counts c (row sums a, column sums b, total N) as (Σc·log c - Σa·log a - Σb·log b) / N + log N,
    with c·log c looked up, not recomputed; a single occupied row or column gives exactly 0.
    """
    lead, bins = joint.shape[:-2], joint.shape[-1]
    flat = joint.reshape(-1, bins * bins)
    rows, cols = joint.sum(axis=-1).reshape(-1, bins), joint.sum(axis=-2).reshape(-1, bins)
    total = rows.sum(axis=1)
    table = _x_log_x(int(total.max(initial=0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = table[flat].sum(axis=1) - table[rows].sum(axis=1) - table[cols].sum(axis=1)
        mi = np.clip(spread / total + np.log(total), 0.0, None)
    # one occupied bin on either axis: no information, whatever the rounding (as sklearn)
    single = (np.count_nonzero(rows, axis=1) <= 1) | (np.count_nonzero(cols, axis=1) <= 1)
    mi = np.where(single, 0.0, mi)
    return np.where(total > 0, mi, np.nan).reshape(lead)


def plugin_bias(joint: np.ndarray) -> np.ndarray:
    """Miller–Madow estimate of the upward bias of plug-in MI for each joint histogram; NaN where empty.

    (occupied cells - occupied rows - occupied columns + 1) / 2N: the first-order bias of the three
    plug-in entropies (Miller 1955; Paninski 2003). It grows as N shrinks, so MI over a smaller
    intersection looks larger by about this much.
    """
    lead, bins = joint.shape[:-2], joint.shape[-1]
    flat = joint.reshape(-1, bins * bins)
    total = flat.sum(axis=1)
    occupied = (np.count_nonzero(flat, axis=1) - np.count_nonzero(joint.sum(axis=-1).reshape(-1, bins), axis=1)
                - np.count_nonzero(joint.sum(axis=-2).reshape(-1, bins), axis=1) + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, occupied / (2.0 * total), np.nan).reshape(lead)
