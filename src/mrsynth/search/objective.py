"""One trial: sampled overrides → validated spec → the same runner as `mrsynth run` → the objective value."""

from __future__ import annotations

import math
import os
import socket
from dataclasses import dataclass
from typing import Any

from mrsynth.errors import MrsynthError, SpecError
from mrsynth.search.runs import close_child, failed_child, find_child, mark_child, trial_tags
from mrsynth.search.space import describe, sample_overrides
from mrsynth.search.specs import SearchBase, trial_spec
from mrsynth.tracking import Tracker
from mrsynth.train.loop import StopTraining

REASON_ATTR = "fail_reason"
WORKER_ATTR = "worker"


def worker_id(pid: int | None = None) -> str:
    """Which process runs a trial: host and pid (this process unless `pid` is given)."""
    return f"{socket.gethostname()}:{pid or os.getpid()}"


class TrialFailed(Exception):
    """The trial produced no value (invalid spec, unusable data, failed run); the study carries on."""


class PruningHooks:
    """Reports the validation objective after every validation; stops the run when the pruner says so."""

    def __init__(self, trial: Any, objective: str):
        self.trial, self.objective = trial, objective
        self.values: dict[int, float] = {}

    def epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        pass

    def validated(self, epoch: int, val_metrics: dict[str, float], preds: Any) -> None:
        value = val_metrics.get(self.objective)
        if value is None or not math.isfinite(value):
            return
        self.values[epoch] = float(value)
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            raise StopTraining(f"pruned at epoch {epoch}: {self.objective} = {value:.4g}")

    def value_at(self, best_epoch: int | None, direction: str) -> float:
        """The objective of the checkpoint the run kept (its best epoch), else the best one seen."""
        if not self.values:
            raise TrialFailed(f"{self.objective} was never computed (no finite validation value)")
        if best_epoch in self.values:
            return self.values[best_epoch]
        return max(self.values.values()) if direction == "maximize" else min(self.values.values())


@dataclass
class Objective:
    """Callable for `study.optimize`; `running` is the trial number in progress (for Ctrl-C handling)."""

    base: SearchBase
    study: str
    parent_id: str
    tracker: Tracker
    progress: bool = False
    prep_workers: int | None = None
    running: int | None = None

    def __call__(self, trial: Any) -> float:
        self.running = trial.number
        self._stamp(trial)
        overrides = sample_overrides(trial, self.base.search.space)
        try:
            loaded = trial_spec(self.base, self.study, trial.number, overrides)
        except SpecError as exc:  # no run exists: the child run records the values and the reason
            self._fail(trial, overrides, f"invalid spec for {describe(overrides)}: " + "; ".join(exc.problems), run_exists=False)
        hooks = PruningHooks(trial, self.base.search.objective)
        result = self._train(trial, loaded, overrides, hooks)
        trial.set_user_attr("mlflow_run_id", result.run_id)
        if result.status != "FINISHED":
            self._fail(trial, overrides, result.reason or result.status)
        try:
            value = hooks.value_at(int(result.metrics.get("best_epoch", 0)) or None, self.base.search.direction)
        except TrialFailed as exc:
            self._fail(trial, overrides, str(exc))
        mark_child(self.tracker, result.run_id, "COMPLETE", value=value)
        return value

    def _stamp(self, trial: Any) -> None:
        trial.set_user_attr(WORKER_ATTR, worker_id())
        for stale in (REASON_ATTR, "mlflow_run_id"):  # a re-queued trial inherits these from the trial it repeats
            if stale in trial.user_attrs:
                trial.set_user_attr(stale, None)

    def _train(self, trial: Any, loaded, overrides: dict[str, Any], hooks: PruningHooks):
        """The runner's result; a prune, Ctrl-C or error leaves the child run tagged with how the trial ended."""
        import optuna

        from mrsynth.train.runner import run_experiment

        try:
            return run_experiment(loaded, tracking_uri=self.tracker.uri, progress=self.progress, parent_run_id=self.parent_id,
                                  extra_tags=trial_tags(self.study, trial.number, overrides), hooks=hooks,
                                  workers=self.prep_workers, qc_figures=False)
        except StopTraining as stop:
            self._close(trial, "PRUNED", str(stop))
            raise optuna.TrialPruned(str(stop)) from None
        except KeyboardInterrupt:
            self._close(trial, "FAIL", "interrupted")
            raise
        except MrsynthError as exc:  # e.g. the QC filter drops every slice
            self._fail(trial, overrides, str(exc))
        except Exception as exc:
            self._fail(trial, overrides, f"{type(exc).__name__}: {exc}")

    def _close(self, trial: Any, state: str, reason: str) -> None:
        """A pruned or interrupted trial: its run ends KILLED (the runner usually did that already)."""
        trial.set_user_attr(REASON_ATTR, reason)
        run_id = find_child(self.tracker, self.parent_id, self.study, trial.number)
        if run_id:
            trial.set_user_attr("mlflow_run_id", run_id)
            close_child(self.tracker, run_id, reason, state, "KILLED")

    def _fail(self, trial: Any, overrides: dict[str, Any], reason: str, run_exists: bool = True) -> None:
        """Record why the trial failed (on the trial and its child run, made if the runner never opened one); raise."""
        run_id = find_child(self.tracker, self.parent_id, self.study, trial.number) if run_exists else None
        if run_id is None:
            run_id = failed_child(self.tracker, self.base, self.parent_id, self.study, trial.number, overrides, reason)
        else:
            close_child(self.tracker, run_id, reason)
        trial.set_user_attr(REASON_ATTR, reason)
        trial.set_user_attr("mlflow_run_id", run_id)
        raise TrialFailed(reason)
