"""`mrsynth compare`: what differs between runs' specs, and their headline metrics side by side."""

from __future__ import annotations

import json
from typing import Any

from mrsynth.errors import MrsynthError
from mrsynth.registry import find_records
from mrsynth.tracking import flatten

METRICS = ("test/psnr_brain", "test/ssim_brain", "test/mae_brain", "test/identity_psnr_brain",
           "test/identity_ssim_brain", "test/identity_mae_brain", "test/best_trivial_psnr_brain",
           "test/best_trivial_ssim_brain", "test/best_trivial_mae_brain", "val/ssim_brain", "val/best_trivial_ssim_brain",
           "baseline.beaten", "test/edge_corr_source", "test/target_edge_corr_source")
VERDICTS = {"baseline.beaten": ("no", "yes")}  # 0/1 metrics shown as words


def pick_record(key: str) -> dict[str, Any]:
    """The latest finished run for a spec name, spec hash prefix or run id (else the latest run at all)."""
    records = find_records(key)
    if not records:
        raise MrsynthError(f"compare: no run matches {key!r} (a spec name, or 6+ characters of a spec hash or run id)")
    finished = [r for r in records if r["status"] == "FINISHED"]
    return (finished or records)[-1]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def spec_differences(records: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    flat = [flatten(r["resolved_spec"]) for r in records]
    keys = sorted(set().union(*flat))
    rows = []
    for key in keys:
        values = [_text(f.get(key, "—")) for f in flat]
        if len(set(values)) > 1 and key not in ("name", "description"):
            rows.append((key, values))
    return rows


def format_table(header: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    if markdown:
        cells = lambda r: "| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |"  # noqa: E731
        return "\n".join([cells(header), cells(["---"] * len(header)), *(cells(r) for r in rows)])
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def compare(keys: list[str], markdown: bool = False) -> str:
    """Three tables: which runs, how their specs differ, their test metrics (plain text or Markdown)."""
    records = [pick_record(k) for k in keys]
    names = [r["spec_name"] for r in records]
    lines = [format_table(["run", *names],
                          [["run id", *(r["run_id"][:12] for r in records)], ["spec hash", *(r["spec_hash"][:12] for r in records)],
                           ["status", *(r["status"] for r in records)]], markdown)]
    diffs = spec_differences(records)
    lines += ["", "spec differences:" if diffs else "spec differences: none"]
    if diffs:
        lines.append(format_table(["path", *names], [[k, *v] for k, v in diffs], markdown))
    metric_rows = [[m, *(_fmt(r.get("metrics", {}).get(m), m) for r in records)] for m in METRICS]
    lines += ["", format_table(["metric", *names], metric_rows, markdown)]
    return "\n".join(lines)


def _fmt(value: Any, metric: str = "") -> str:
    if value is None:
        return "—"
    return VERDICTS[metric][bool(value)] if metric in VERDICTS else f"{value:.4f}"
