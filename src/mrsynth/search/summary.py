"""End of a search: the table of trials, optimisation figures and the best trial written back as a spec."""

from __future__ import annotations

import math
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mrsynth.search.objective import REASON_ATTR
from mrsynth.search.specs import SearchBase, write_best_spec
from mrsynth.search.worker import Tally, retried_numbers, retries_of, tally
from mrsynth.tracking import Tracker

TOP = 10
STATE_ORDER = {"COMPLETE": 0, "PRUNED": 1, "FAIL": 2, "RUNNING": 3, "WAITING": 4}


@dataclass
class Summary:
    tally: Tally
    table: pd.DataFrame
    best_trial: int | None = None
    best_value: float | None = None
    best_run_id: str | None = None
    best_spec: Path | None = None
    figures: tuple[str, ...] = ()


def _reason(trial: Any, retried: set[int], retries: dict[int, int]) -> str:
    if trial.number in retried:
        return f"re-queued as trial {retries.get(trial.number, '?')}"
    return str(trial.user_attrs.get(REASON_ATTR) or "")


def trials_table(trials: list[Any], direction: str) -> pd.DataFrame:
    """One row per trial: best first (complete by value, then pruned, then failed)."""
    retried = retried_numbers(trials)
    retries = {number: retry.number for number, retry in retries_of(trials).items()}
    rows = []
    for t in trials:
        row = {"trial": t.number, "state": t.state.name, "value": t.value if t.value is not None else math.nan,
               "seconds": round(t.duration.total_seconds(), 1) if t.duration else math.nan}
        row |= {name: value for name, value in t.params.items()}
        row |= {"run_id": t.user_attrs.get("mlflow_run_id") or "", "note": _reason(t, retried, retries)}
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    sign = -1.0 if direction == "maximize" else 1.0
    table["_order"] = table["state"].map(STATE_ORDER).fillna(9)
    table["_key"] = sign * table["value"].fillna(math.inf * sign)
    return table.sort_values(["_order", "_key", "trial"]).drop(columns=["_order", "_key"]).reset_index(drop=True)


def format_table(table: pd.DataFrame, top: int = TOP) -> str:
    shown = table.head(top).copy()
    if "run_id" in shown:
        shown["run_id"] = shown["run_id"].str[:12]
    return shown.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="-")


def write_figures(study: Any, folder: Path) -> list[Path]:
    """Optimisation history, parameter importances and intermediate values, where the study has enough trials."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.exceptions import ExperimentalWarning
    from optuna.visualization import matplotlib as vis

    plots = {"optimization_history.png": vis.plot_optimization_history,
             "param_importances.png": vis.plot_param_importances,
             "intermediate_values.png": vis.plot_intermediate_values}
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, plot in plots.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            try:
                axes = plot(study)
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue  # e.g. importances need two finished trials whose parameters differ
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        figure.set_size_inches(8, 5)
        figure.tight_layout()
        figure.savefig(folder / name, dpi=100)
        plt.close(figure)
        written.append(folder / name)
    return written


def summarize(study: Any, base: SearchBase, parent: Tracker, out: Path, echo: bool = True) -> Summary:
    """Print and log the trial table and figures; write the best spec when a trial completed."""
    trials = study.get_trials(deepcopy=False)
    counts = tally(trials)
    table = trials_table(trials, base.search.direction)
    summary = Summary(counts, table)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        text = f"study {study.study_name}: {counts}\n\n{format_table(table) if not table.empty else '(no trials)'}\n"
        (tmp / "top_trials.txt").write_text(text, encoding="utf-8")
        table.to_csv(tmp / "trials.csv", index=False)
        figures = write_figures(study, tmp / "figures") if counts.complete else []
        summary.figures = tuple(f.name for f in figures)
        if counts.complete:
            best = study.best_trial
            summary.best_trial, summary.best_value = best.number, float(best.value)
            summary.best_run_id = best.user_attrs.get("mlflow_run_id")
            write_best_spec(base, out, study.study_name, best.number, best.value, dict(best.params))
            summary.best_spec = out
            parent.log_artifact(out, "best_spec")
        for name in ("top_trials.txt", "trials.csv"):
            parent.log_artifact(tmp / name)
        if figures:
            parent.log_artifact(tmp / "figures", "figures")
    _log_outcome(parent, summary)
    if echo:
        print(text, end="")
        if summary.best_spec:
            print(f"best: trial {summary.best_trial} ({base.search.objective} = {summary.best_value:.4g}) "
                  f"-> {summary.best_spec}")
    return summary


def _log_outcome(parent: Tracker, summary: Summary) -> None:
    counts = summary.tally
    parent.log_metrics({"trials.complete": counts.complete, "trials.pruned": counts.pruned,
                        "trials.failed": counts.failed, **({"best_value": summary.best_value} if summary.best_value is not None else {})},
                       step=counts.accounted)
    tags: dict[str, Any] = {"search.accounted": counts.accounted}
    if summary.best_trial is not None:
        tags |= {"search.best_trial": summary.best_trial, "search.best_run_id": summary.best_run_id or ""}
    parent.set_tags(tags)
