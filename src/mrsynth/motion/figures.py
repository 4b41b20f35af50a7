"""Calibration plot: predicted against true motion score of the held-out synthetic samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def calibration_plot(predicted: np.ndarray, true: np.ndarray, path: Path, title: str, r2: float) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=110)
    top = float(max(np.max(true, initial=1.0), np.max(predicted, initial=1.0))) * 1.05
    ax.plot([0, top], [0, top], color="0.6", lw=1, label="identity")
    ax.scatter(true, predicted, s=10, alpha=0.6)
    ax.set(xlim=(0, top), ylim=(0, top), xlabel="true motion score (mm)", ylabel="predicted motion score (mm)",
           title=f"{title}\nR² = {r2:.3f}, n = {len(true)}")
    ax.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
