"""Scores as distributions over bins: soft Gaussian targets for the KL loss, expected-bin-centre decoding.

Bin centres are evenly spaced from `low` to `high` (both ends are centres). A plain Gaussian truncated
at the range ends has its mean pulled inwards, which would bias every motion-free volume (score 0) up;
so each label's Gaussian is shifted until the label's expectation equals the score. Decoding a label
with `decode` therefore gives the score back (to ~1e-6 bins) for any score in [low, high]; scores
outside are clipped to the range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_BISECTION_STEPS = 60


@dataclass(frozen=True)
class ScoreBins:
    low: float
    high: float
    count: int = 50
    sigma_bins: float = 1.0  # standard deviation of the soft label, in bin widths

    def __post_init__(self) -> None:
        if not self.high > self.low or self.count < 2 or self.sigma_bins <= 0:
            raise ValueError(f"need high > low, count >= 2, sigma > 0 (got {self.low}, {self.high}, {self.count}, {self.sigma_bins})")

    @property
    def width(self) -> float:
        return (self.high - self.low) / (self.count - 1)

    @property
    def centres(self) -> np.ndarray:
        return np.linspace(self.low, self.high, self.count)

    def _gaussian(self, mu: np.ndarray) -> np.ndarray:
        sigma = self.sigma_bins * self.width
        logits = -0.5 * ((self.centres[None, :] - mu[:, None]) / sigma) ** 2
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        return weights / weights.sum(axis=1, keepdims=True)

    def soft_labels(self, scores) -> np.ndarray:
        """(n, count) probability vectors whose expected bin centre is each (clipped) score."""
        target = np.clip(np.asarray(scores, dtype=float).reshape(-1), self.low, self.high)
        reach = 12.0 * self.sigma_bins * self.width
        lo = np.full_like(target, self.low - reach)
        hi = np.full_like(target, self.high + reach)
        for _ in range(_BISECTION_STEPS):  # the expectation grows monotonically with the Gaussian's centre
            mid = (lo + hi) / 2
            above = self._gaussian(mid) @ self.centres > target
            hi, lo = np.where(above, mid, hi), np.where(above, lo, mid)
        return self._gaussian((lo + hi) / 2)

    def decode(self, probabilities) -> np.ndarray:
        """Expected bin centre of each row of (n, count) probabilities."""
        return np.asarray(probabilities, dtype=float) @ self.centres
