"""What `mrsynth run` says: a line per validation epoch, and at the end the selected checkpoint's validation
and test metrics beside the trivial baselines, with a warning when it does not beat the best of them."""

from __future__ import annotations

import math

from mrsynth.train.baselines import KINDS, METRICS, best_kind

BEATEN = "baseline.beaten"  # 1.0 / 0.0: the selected checkpoint beats the best trivial baseline on validation


def _number(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.4f}"


def epoch_line(epoch: int, epochs: int, metrics: dict[str, float], baselines: dict[str, float], select_by: str) -> str:
    """`epoch 3/20  val ssim_brain 0.4120  (identity 0.3670, best trivial 0.4550: monotone)`."""
    metric = select_by.removeprefix("val/")
    line = f"epoch {epoch}/{epochs}  val {metric} {_number(metrics.get(select_by))}"
    kind = best_kind(baselines, "val", metric)
    if kind is None:
        return line
    identity, best = baselines[f"val/identity_{metric}"], baselines[f"val/{kind}_{metric}"]
    return f"{line}  (identity {_number(identity)}, best trivial {_number(best)}: {kind})"


def summary_rows(metrics: dict[str, float]) -> list[list[str]]:
    """Per metric and split: the model, each baseline and the best of them (named)."""
    rows = []
    for metric in METRICS:
        for split in ("val", "test"):
            kind = best_kind(metrics, split, metric)
            best = f"{_number(metrics[f'{split}/{kind}_{metric}'])} {kind}" if kind else "—"
            baselines = [_number(metrics.get(f"{split}/{k}_{metric}")) for k in KINDS]
            rows.append([metric, split, _number(metrics.get(f"{split}/{metric}")), *baselines, best])
    return rows


def baseline_warning(metrics: dict[str, float], select_by: str) -> str | None:
    """The WARNING line when the selected checkpoint does not beat the best trivial baseline on validation."""
    metric = select_by.removeprefix("val/")
    if BEATEN not in metrics:
        return f"WARNING: no validated checkpoint has a {select_by}; nothing was compared with the trivial baselines"
    if metrics[BEATEN]:
        return None
    kind = best_kind(metrics, "val", metric)
    return (f"WARNING: the selected checkpoint (epoch {metrics.get('best_epoch', 0):.0f}, {select_by} "
            f"{_number(metrics.get(select_by))}) does not beat the best trivial baseline on validation ({kind} "
            f"{_number(metrics.get(f'val/{kind}_{metric}'))})")


def summary_lines(metrics: dict[str, float], select_by: str) -> list[str]:
    """The end-of-run table (validation is the selected checkpoint's) and, when it applies, the warning."""
    from mrsynth.compare import format_table

    if not any(k.startswith("test/") for k in metrics):
        return []
    header = ["metric", "split", "model", *KINDS, "best trivial"]
    lines = [f"selected checkpoint: epoch {metrics.get('best_epoch', 0):.0f} (best {select_by})",
             *format_table(header, summary_rows(metrics)).splitlines()]
    warning = baseline_warning(metrics, select_by)
    return lines + ([warning] if warning else [])
