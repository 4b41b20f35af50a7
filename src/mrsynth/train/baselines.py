"""Trivial baselines a translation model has to beat, fitted once per run on its training slices.

- identity: the source itself;
- constant: one value inside the brain, the mean normalised target intensity inside the training slices'
  target masks;
- monotone: one global monotone map of source intensities (isotonic regression, increasing or decreasing,
  whichever fits better), fitted on the training slices' voxel pairs inside both brain masks.
Each is an image with the background value outside the source brain mask, like every prediction, and is scored
exactly like the model. `best_trivial_<metric>` is, per metric, the best of the three on that split."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mrsynth.errors import MrsynthError
from mrsynth.inference.background import in_brain
from mrsynth.train.batches import SliceArrays

KINDS = ("identity", "constant", "monotone")
METRICS = ("psnr_brain", "ssim_brain", "mae_brain", "psnr", "ssim", "mae")
BINS = 512  # source intensity bins of the monotone fit: its cost stays one pass over the voxels
CHUNK = 64  # slices read at a time: memory stays flat as the training set grows
TARGET_MASK, BOTH_MASKS = 1, 2


@dataclass(frozen=True)
class TrivialBaselines:
    """The fitted baselines: the constant, and the monotone map as a lookup table (source knots → target)."""

    constant: float
    knots: np.ndarray
    mapped: np.ndarray

    def image(self, kind: str, source: np.ndarray, brain: np.ndarray) -> np.ndarray:
        """Baseline `kind`'s prediction of a normalised source stack, background outside `brain`."""
        source = np.asarray(source, dtype=np.float32)
        if kind == "constant":
            return in_brain(np.full(source.shape, self.constant, dtype=np.float32), brain)
        if kind == "monotone":
            return in_brain(np.interp(source, self.knots, self.mapped), brain)
        return in_brain(source, brain)


@dataclass
class _Sums:
    """Running per-bin sums of the voxel pairs, and of the target inside its mask."""

    count: np.ndarray
    source: np.ndarray
    target: np.ndarray
    target_sum: float = 0.0
    target_count: int = 0

    def add(self, source: np.ndarray, target: np.ndarray, masks: np.ndarray) -> None:
        both = masks[:, BOTH_MASKS] > 0
        x, y = source[both].astype(np.float64), target[both].astype(np.float64)
        bins = np.clip(((x + 1.0) * 0.5 * BINS).astype(np.int64), 0, BINS - 1)
        self.count += np.bincount(bins, minlength=BINS)
        self.source += np.bincount(bins, weights=x, minlength=BINS)
        self.target += np.bincount(bins, weights=y, minlength=BINS)
        inside = target[masks[:, TARGET_MASK] > 0]
        self.target_sum += float(inside.sum(dtype=np.float64))
        self.target_count += inside.size


def fit_baselines(train: SliceArrays) -> TrivialBaselines:
    """The constant and the monotone map from the training slices `train.rows`, read `CHUNK` slices at a time."""
    sums = _Sums(np.zeros(BINS), np.zeros(BINS), np.zeros(BINS))
    rows = np.sort(np.asarray(train.rows))
    for start in range(0, len(rows), CHUNK):
        index = rows[start : start + CHUNK]
        sums.add(np.asarray(train.source[index]), np.asarray(train.target[index]), np.asarray(train.masks[index]))
    if sums.target_count == 0 or not sums.count.any():
        raise MrsynthError("trivial baselines: the training slices have no voxel inside both brain masks")
    knots, mapped = _monotone_fit(sums)
    return TrivialBaselines(sums.target_sum / sums.target_count, knots, mapped)


def _monotone_fit(sums: _Sums) -> tuple[np.ndarray, np.ndarray]:
    """Weighted isotonic regression of the bins' mean target on their mean source, in the better direction."""
    from scipy.optimize import isotonic_regression

    used = sums.count > 0
    weights = sums.count[used]
    knots, means = sums.source[used] / weights, sums.target[used] / weights
    fits = [isotonic_regression(means, weights=weights, increasing=up).x for up in (True, False)]
    return knots, min(fits, key=lambda fit: float(np.sum(weights * (fit - means) ** 2)))


def lower_is_better(metric: str) -> bool:
    return metric.split("/")[-1].startswith("mae")


def best_kind(metrics: dict[str, float], split: str, metric: str) -> str | None:
    """Which baseline scores best on `split`'s `metric` (e.g. "ssim_brain"); None when none was scored."""
    values = {kind: metrics.get(f"{split}/{kind}_{metric}") for kind in KINDS}
    values = {kind: v for kind, v in values.items() if v is not None and not math.isnan(v)}
    if not values:
        return None
    return (min if lower_is_better(metric) else max)(values, key=values.get)


def with_best_trivial(metrics: dict[str, float], split: str) -> dict[str, float]:
    """`metrics` plus `<split>/best_trivial_<metric>` for every metric a baseline was scored on."""
    best = {}
    for metric in METRICS:
        kind = best_kind(metrics, split, metric)
        if kind is not None:
            best[f"{split}/best_trivial_{metric}"] = metrics[f"{split}/{kind}_{metric}"]
    return {**metrics, **best}


def beats(value: float | None, baseline: float | None, metric: str) -> bool | None:
    """Whether `value` is strictly better than `baseline` on `metric`; None when either is missing."""
    if value is None or baseline is None or math.isnan(value) or math.isnan(baseline):
        return None
    return value < baseline if lower_is_better(metric) else value > baseline

