"""One PNG per slice pair: source, target, colour overlay, edge overlay, difference; metrics in the title.

Drawn with numpy and Pillow, not matplotlib: a figure costs tens of milliseconds and no plotting import
(matplotlib took ~0.2 s per figure and ~0.5 s to import, most of a `mrsynth qc-pair` report).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mrsynth.spec.qc_columns import QC_METRICS

FIGURE_SIZE_INCHES = (15.0, 3.6)
FIGURE_DPI = 100
"""Fixed size: every figure is 1500×360 pixels."""
FIGURE_SIZE = (round(FIGURE_SIZE_INCHES[0] * FIGURE_DPI), round(FIGURE_SIZE_INCHES[1] * FIGURE_DPI))
TITLE_HEIGHT, LABEL_HEIGHT, GAP = 52, 18, 6
MASK_OUTLINE = (1.0, 1.0, 0.0)  # yellow
MAGMA = np.array([(0.0015, 0.0005, 0.0139), (0.1131, 0.0655, 0.2768), (0.3167, 0.0717, 0.4854), (0.5128, 0.1482, 0.5076),
                  (0.7164, 0.2150, 0.4753), (0.9043, 0.3196, 0.3881), (0.9867, 0.5356, 0.3822), (0.9969, 0.7696, 0.5349),
                  (0.9871, 0.9914, 0.7495)])
"""matplotlib's magma at 9 even steps, interpolated linearly between them."""

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


def sobel_magnitude(image: np.ndarray) -> np.ndarray:
    """|∇| by 3×3 Sobel kernels, borders mirrored (`skimage.filters.sobel` up to a constant factor)."""
    p = np.pad(image, 1, mode="symmetric")
    across = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    along = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    return np.hypot(across, along)


def _green_magenta(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """RGB overlay: source in green, target in magenta; grey where they agree."""
    return np.stack([target, source, target], axis=-1)


def _grey(image: np.ndarray) -> np.ndarray:
    return np.repeat(image[..., None], 3, axis=-1)


def _magma(image: np.ndarray) -> np.ndarray:
    steps = np.linspace(0.0, 1.0, len(MAGMA))
    return np.stack([np.interp(image, steps, MAGMA[:, channel]) for channel in range(3)], axis=-1)


def _outlined(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`rgb` with the mask's edge pixels (in the mask, beside a pixel outside it) painted MASK_OUTLINE."""
    inner = np.pad(mask, 1)
    inner = inner[:-2, 1:-1] & inner[2:, 1:-1] & inner[1:-1, :-2] & inner[1:-1, 2:]
    out = rgb.copy()
    out[mask & ~inner] = MASK_OUTLINE
    return out


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


def _panels(source2d: np.ndarray, target2d: np.ndarray, mask2d: np.ndarray | None) -> list[tuple[str, np.ndarray]]:
    """(label, RGB in [0, 1]) of the five panels, cropped to the mask's box and turned as radiologists view axial slices."""
    source2d, target2d = np.asarray(source2d, dtype=np.float64), np.asarray(target2d, dtype=np.float64)
    mask = np.ones(source2d.shape, bool) if mask2d is None else np.asarray(mask2d, dtype=bool)
    source, target = _unit_range(source2d, mask), _unit_range(target2d, mask)
    edges_s, edges_t = sobel_magnitude(source), sobel_magnitude(target)
    box = _view_box(mask) if mask2d is not None else (slice(None), slice(None))
    source, target, edges_s, edges_t, mask = (np.rot90(a[box]) for a in (source, target, edges_s, edges_t, mask))
    scale = max(float(edges_s.max()), float(edges_t.max()), 1e-12)
    overlay = _green_magenta(source, target)
    return [
        ("source", _grey(source)),
        ("target", _grey(target)),
        ("overlay (source green, target magenta)", _outlined(overlay, mask) if mask2d is not None else overlay),
        ("edges (source green, target magenta)", _green_magenta(edges_s / scale, edges_t / scale)),
        ("|source - target| in mask", _magma(np.abs(source - target) * mask)),
    ]


def slice_figure(source2d: np.ndarray, target2d: np.ndarray, mask2d: np.ndarray | None, row: Mapping, path: Path | str) -> Path:
    """Write the five-panel figure of one slice pair to `path` (PNG, FIGURE_SIZE pixels) and return the path."""
    from PIL import Image, ImageDraw, ImageFont

    panels = _panels(source2d, target2d, mask2d)
    width, height = FIGURE_SIZE
    box_w, box_h = (width - GAP * (len(panels) + 1)) // len(panels), height - TITLE_HEIGHT - LABEL_HEIGHT - GAP
    canvas = Image.new("RGB", FIGURE_SIZE, "white")
    draw = ImageDraw.Draw(canvas)
    font, small = ImageFont.load_default(size=13), ImageFont.load_default(size=11)
    draw.multiline_text((GAP, 4), _title(row), fill="black", font=font, spacing=6)
    for index, (label, rgb) in enumerate(panels):
        left = GAP + index * (box_w + GAP)
        draw.text((left + box_w // 2, TITLE_HEIGHT + 2), label, fill="black", font=small, anchor="ma")
        zoom = min(box_w / rgb.shape[1], box_h / rgb.shape[0])
        size = (max(1, round(rgb.shape[1] * zoom)), max(1, round(rgb.shape[0] * zoom)))
        tile = Image.fromarray(np.round(np.nan_to_num(rgb) * 255).astype(np.uint8)).resize(size, Image.Resampling.NEAREST)
        canvas.paste(tile, (left + (box_w - size[0]) // 2, TITLE_HEIGHT + LABEL_HEIGHT + (box_h - size[1]) // 2))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path, format="PNG", compress_level=1)  # fast zlib level: the PNG is a report, not an archive
    return path
