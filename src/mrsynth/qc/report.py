"""A QC report folder: qc.csv, summary.csv, figures of the worst flagged slices, index.html."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from mrsynth.qc.figures import slice_figure
from mrsynth.qc.filter import qc_summary, require_columns
from mrsynth.spec.qc_columns import QC_METRICS

VolumesLookup = Callable[[str | None], tuple[np.ndarray, np.ndarray, np.ndarray | None]]
"""subject (None for a table without a `subject` column) → (source, target, mask or None) volumes."""


def worst_flagged(table: pd.DataFrame, worst_n: int) -> pd.DataFrame:
    """The `worst_n` flagged rows: most failed rules first, then lowest mutual information."""
    flagged = table[table["flagged"].astype(bool)]
    severity = flagged["reasons"].astype(str).str.count(";") + 1
    mi = flagged["mi"] if "mi" in flagged.columns else pd.Series(0.0, index=flagged.index)
    order = pd.DataFrame({"severity": -severity, "mi": mi.fillna(-np.inf)}).sort_values(["severity", "mi"], kind="stable")
    return flagged.loc[order.index[:worst_n]]


def _figure_name(subject: str | None, slice_index: int) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", subject) + "_" if subject else ""
    return f"{stem}slice{slice_index:03d}.png"


def write_figures(rows: pd.DataFrame, folder: Path, volumes_lookup: VolumesLookup, axis: int) -> list[tuple[Path, dict]]:
    """One figure per row, loading each subject's volumes once; returns (path, row) pairs in row order."""
    has_subject = "subject" in rows.columns
    written: dict[object, tuple[Path, dict]] = {}
    subjects = rows["subject"].astype(str) if has_subject else pd.Series("", index=rows.index)
    for subject, group in rows.groupby(subjects, sort=False):
        source, target, mask = volumes_lookup(subject if has_subject else None)
        for index, row in group.iterrows():
            z = int(row["slice"])
            plane = (slice(None),) * axis + (z,)  # a view: np.take copied the whole volume to C order per call
            mask2d = None if mask is None else mask[plane]
            path = folder / _figure_name(subject if has_subject else None, z)
            slice_figure(source[plane], target[plane], mask2d, row.to_dict(), path)
            written[index] = (path, row.to_dict())
    return [written[index] for index in rows.index]


def _metrics_legend() -> str:
    """An HTML table of the QC columns: the data.qc field thresholding each, and what it measures."""
    rows = "\n".join(
        f"<tr><th>{metric.column}</th><td>{metric.threshold or ''}</td>"
        f'<td style="text-align:left">{html.escape(metric.description)}</td></tr>'
        for metric in QC_METRICS
    )
    return f"<table><tr><th>column</th><th>data.qc threshold</th><th>what</th></tr>\n{rows}\n</table>"


def _figures_html(figures: list[tuple[Path, dict]] | None, out_dir: Path) -> str:
    if figures is None:
        return "<h2>Worst flagged slices</h2>\n<p>Figures not drawn (--no-figures): qc.csv lists every flagged slice.</p>"
    cards = "\n".join(
        f'<figure><img src="{html.escape(path.relative_to(out_dir).as_posix())}" alt="slice {row["slice"]}">'
        f"<figcaption>{html.escape(str(row.get('subject', '')))} slice {row['slice']}: "
        f"{html.escape(str(row.get('reasons', '')))}</figcaption></figure>"
        for path, row in figures
    )
    return f"<h2>Worst flagged slices ({len(figures)})</h2>\n{cards or '<p>No flagged slices.</p>'}"


def _index_html(summary: pd.DataFrame, table: pd.DataFrame, figures: list[tuple[Path, dict]] | None, out_dir: Path) -> str:
    flagged = int(table["flagged"].sum())
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>mrsynth slice QC</title>
<style>body{{font-family:sans-serif;margin:1.5em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}} img{{max-width:100%}}
figure{{margin:1em 0}}</style></head><body>
<h1>Slice-pair QC</h1>
<p>{flagged} of {len(table)} slice pairs flagged. Full table: <a href="qc.csv">qc.csv</a>,
summary: <a href="summary.csv">summary.csv</a>.</p>
<h2>Summary</h2>
{summary.to_html(index=False, border=0)}
{_figures_html(figures, out_dir)}
<h2>Metrics</h2>
{_metrics_legend()}
</body></html>
"""


def write_report(table: pd.DataFrame, out_dir: Path | str, volumes_lookup: VolumesLookup, worst_n: int = 12, axis: int = 2,
                 figures: bool = True) -> Path:
    """Write qc.csv, summary.csv, figures/ for the worst flagged slices and index.html; return index.html.

    `table` is a metrics table after `apply_qc`; `axis` is the slicing axis of the volumes;
    `figures=False` draws none (and never calls `volumes_lookup`).
    """
    require_columns(table, ["slice", "flagged", "reasons"])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "qc.csv", index=False)
    summary = qc_summary(table)
    summary.to_csv(out_dir / "summary.csv", index=False)
    drawn = write_figures(worst_flagged(table, worst_n), out_dir / "figures", volumes_lookup, axis) if figures else None
    index = out_dir / "index.html"
    index.write_text(_index_html(summary, table, drawn, out_dir), encoding="utf-8")
    return index
