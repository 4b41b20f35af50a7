"""One PNG per slice pair: source, target, colour overlay, edge overlay, difference; metrics in the title."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mrsynth.spec.qc_columns import QC_METRICS

FIGURE_SIZE_INCHES = (15.0, 3.6)
FIGURE_DPI = 100
"""Fixed size, no tight bounding box: every figure is 1500×360 pixels."""

_TITLE_FIELDS = tuple(metric.column for metric in QC_METRICS)


def _unit_range(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Image scaled to [0, 1] by its 1st-99th percentile inside the mask (whole slice when the mask is empty)."""
    inside = image[mask] if mask.any() else image.ravel()
    low, high = np.percentile(inside, [1, 99]) if inside.size else (0.0, 1.0)
    return np.clip((image - low) / (high - low if high > low else 1.0), 0.0, 1.0)


def _view_box(mask: np.ndarray, margin: int = 6) -> tuple[slice, slice]:
    """The mask's bounding box plus a margin, so the brain fills the panel (whole slice for an empty mask)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return slice(None), slice(None)
    return (slice(max(rows[0] - margin, 0), rows[-1] + margin + 1),
            slice(max(cols[0] - margin, 0), cols[-1] + margin + 1))


def _green_magenta(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """RGB overlay: source in green, target in magenta; grey where they agree."""
    return np.stack([target, source, target], axis=-1)


def _title(row: Mapping) -> str:
    parts = []
    for name in _TITLE_FIELDS:
        value = row.get(name)
        if value is None:
            continue
        if isinstance(value, float | np.floating) and not math.isnan(value) and not float(value).is_integer():
            parts.append(f"{name} {value:.3f}")
        else:
            parts.append(f"{name} {value}")
    where = " ".join(str(row[k]) for k in ("subject",) if row.get(k) is not None)
    head = f"{where} slice {row.get('slice', '?')}".strip()
    reasons = row.get("reasons") or "kept"
    return f"{head}: {reasons}\n" + ", ".join(parts)


def slice_figure(source2d: np.ndarray, target2d: np.ndarray, mask2d: np.ndarray | None, row: Mapping, path: Path | str) -> Path:
    """Write the five-panel figure of one slice pair to `path` (PNG) and return the path."""
    from matplotlib.figure import Figure  # no pyplot: no global state, works headless and in threads
    from skimage.filters import sobel

    source2d, target2d = np.asarray(source2d, dtype=np.float64), np.asarray(target2d, dtype=np.float64)
    mask = np.ones(source2d.shape, bool) if mask2d is None else np.asarray(mask2d, dtype=bool)
    source, target = _unit_range(source2d, mask), _unit_range(target2d, mask)
    edges_s, edges_t = sobel(source), sobel(target)
    box = _view_box(mask) if mask2d is not None else (slice(None), slice(None))
    source, target, edges_s, edges_t, mask = (a[box] for a in (source, target, edges_s, edges_t, mask))
    scale = max(float(edges_s.max()), float(edges_t.max()), 1e-12)
    panels = [
        ("source", source, "gray"),
        ("target", target, "gray"),
        ("overlay (source green, target magenta)", _green_magenta(source, target), None),
        ("edges (source green, target magenta)", _green_magenta(edges_s / scale, edges_t / scale), None),
        ("|source - target| in mask", np.abs(source - target) * mask, "magma"),
    ]
    figure = Figure(figsize=FIGURE_SIZE_INCHES, dpi=FIGURE_DPI)
    axes = figure.subplots(1, len(panels))
    figure.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.78, wspace=0.04)
    for ax, (name, image, cmap) in zip(axes, panels, strict=True):
        ax.imshow(np.rot90(image), cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
        if mask2d is not None and name.startswith("overlay"):
            ax.contour(np.rot90(mask).astype(float), levels=[0.5], colors="yellow", linewidths=0.6)
        ax.set_title(name, fontsize=8)
        ax.set_axis_off()
    figure.suptitle(_title(row), fontsize=9)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=FIGURE_DPI)
    return path
