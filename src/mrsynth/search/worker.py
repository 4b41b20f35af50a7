"""One worker's loop over a shared study: run trials until the study has `n_trials` accounted for.

A trial counts once it is COMPLETE, PRUNED, or FAILED for good; a failure that was re-queued (its worker
died, or Ctrl-C) is replaced by its retry and does not count. A worker with nothing left to start waits
while other workers finish the last trials, so that it can take over a retry if one of them dies."""

from __future__ import annotations

import signal
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mrsynth.search.objective import REASON_ATTR, Objective, TrialFailed
from mrsynth.search.runs import PARENT_ATTR, close_lost_child, close_orphans
from mrsynth.search.space import describe
from mrsynth.search.storage import MAX_RETRY
from mrsynth.tracking import Tracker


@dataclass(frozen=True)
class Tally:
    complete: int = 0
    pruned: int = 0
    failed: int = 0  # failed for good
    retried: int = 0  # failed, then queued again
    running: int = 0
    waiting: int = 0

    @property
    def accounted(self) -> int:
        return self.complete + self.pruned + self.failed

    def __str__(self) -> str:
        text = f"{self.accounted} trials accounted for: {self.complete} complete, {self.pruned} pruned, {self.failed} failed"
        extra = [f"{n} {what}" for n, what in ((self.retried, "re-queued after a lost worker or Ctrl-C"),
                                              (self.running, "running"), (self.waiting, "waiting")) if n]
        return text + (f" ({', '.join(extra)})" if extra else "")


def retried_numbers(trials: list[Any]) -> set[int]:
    return {n for t in trials for n in t.system_attrs.get("retry_history", [])}


def retries_of(trials: list[Any]) -> dict[int, Any]:
    """Trial number -> the trial that re-ran it (queued again after its worker was lost, or Ctrl-C)."""
    return {t.system_attrs["retry_history"][-1]: t for t in trials if t.system_attrs.get("retry_history")}


def tally(trials: list[Any]) -> Tally:
    retried = retried_numbers(trials)
    states = [t.state.name for t in trials]
    failed = [t for t in trials if t.state.name == "FAIL"]
    return Tally(complete=states.count("COMPLETE"), pruned=states.count("PRUNED"),
                 failed=sum(t.number not in retried for t in failed), retried=sum(t.number in retried for t in failed),
                 running=states.count("RUNNING"), waiting=states.count("WAITING"))


def _quiet(fn: Callable[[], Any]) -> Any:
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        return fn()


def retry_callback() -> Any:
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    return _quiet(lambda: RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY))


class LostWorker:
    """Heartbeat-stale callback: queue the dead trial's parameters again, then close its MLflow run.

    Whoever fails a stale trial may look before its worker opened the run (a worker stalled past the grace
    period, then went on and died), so every look also closes runs still RUNNING whose trial the study has failed."""

    def __init__(self, tracking_uri: str, grace: int):
        self.tracking_uri, self.grace = tracking_uri, grace
        self.retry = retry_callback()

    def __call__(self, study: Any, trial: Any) -> None:
        self.retry(study, trial)  # first: a failure in MLflow must not lose the trial's parameters
        print(f"trial {trial.number} FAIL      its worker stopped beating; re-queued with the same parameters", flush=True)
        reason = f"worker lost: no heartbeat for {self.grace} s (trial re-queued)"
        self._tracked(study, f"closing the run of trial {trial.number}",
                      lambda tracker, parent: close_lost_child(tracker, parent, study.study_name, trial.number, reason))

    def look(self, study: Any) -> None:
        """Fail stale trials (this callback runs for each), then close the runs of failed trials still RUNNING."""
        fail_stale(study)
        self.close_failed_runs(study)

    def close_failed_runs(self, study: Any) -> None:
        failed = {t.number for t in study.get_trials(deepcopy=False) if t.state.name == "FAIL"}
        if not failed:
            return
        reason = "worker lost: the study failed this trial while its run was still open"
        closed = self._tracked(study, "closing runs of failed trials",
                               lambda tracker, parent: close_orphans(tracker, parent, study.study_name, failed, reason))
        for number in closed or ():
            print(f"trial {number} FAIL      its run was still open: closed it (its worker was lost)", flush=True)

    def _tracked(self, study: Any, what: str, action: Callable[[Tracker, str], Any]) -> Any:
        parent = study.user_attrs.get(PARENT_ATTR)
        if not parent:
            return None
        try:
            return action(Tracker(self.tracking_uri), parent)
        except Exception as exc:  # e.g. a locked MLflow database: the worker goes on, and a later look closes the run
            print(f"warning: {what} in MLflow failed ({type(exc).__name__}: {exc}); a later look retries", flush=True)
            return None


def report_line(prefix: str, objective: str) -> Callable[[Any, Any], None]:
    def report(study: Any, trial: Any) -> None:
        seconds = trial.duration.total_seconds() if trial.duration else 0.0
        state = trial.state.name
        if state == "COMPLETE":
            detail = f"{objective} = {trial.value:.4g}"
        else:
            detail = str(trial.user_attrs.get(REASON_ATTR) or "")
        print(f"{prefix}trial {trial.number} {state:<8}  {seconds:6.1f} s  {describe(trial.params)}  {detail}".rstrip(), flush=True)

    return report


def fail_stale(study: Any) -> None:
    import optuna

    _quiet(lambda: optuna.storages.fail_stale_trials(study))


class InterruptGuard:
    """Remembers Ctrl-C: Python drops a KeyboardInterrupt raised inside a finalizer ("Exception ignored in ..."),
    and then the worker must still stop after its current trial."""

    def __init__(self):
        self.seen = False
        self._previous: Any = None

    def __enter__(self) -> InterruptGuard:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def work(study: Any, objective: Objective, n_trials: int, timeout: float | None, poll: float,
         report: Callable[[Any, Any], None], look: Callable[[Any], None] = fail_stale) -> tuple[Tally, str]:
    """Run trials until the study is done or `timeout` passes; returns the tally and why it stopped.
    `look` runs before each trial and each wait (`LostWorker.look`: fail stale trials, close their runs)."""
    with InterruptGuard() as guard:
        return _loop(study, objective, n_trials, timeout, poll, report, look, guard)


def _loop(study: Any, objective: Objective, n_trials: int, timeout: float | None, poll: float,
          report: Callable[[Any, Any], None], look: Callable[[Any], None], guard: InterruptGuard) -> tuple[Tally, str]:
    started = time.monotonic()
    while True:
        if guard.seen:
            raise KeyboardInterrupt
        look(study)
        now = tally(study.get_trials(deepcopy=False))
        if now.accounted >= n_trials:
            return now, "done"
        if timeout is not None and time.monotonic() - started > timeout:
            return now, "timeout"
        if now.waiting == 0 and now.accounted + now.running >= n_trials:
            time.sleep(poll)  # the last trials run elsewhere; stay to take over a retry if a worker dies
            continue
        objective.running = None
        try:
            study.optimize(objective, n_trials=1, catch=(TrialFailed,), callbacks=[report])
        except KeyboardInterrupt:
            requeue_interrupted(study, objective.running)
            raise


def requeue_interrupted(study: Any, number: int | None) -> None:
    """Ctrl-C: the trial is already FAIL (Optuna did it); queue its parameters so a re-run repeats it."""
    if number is None:
        return
    trial = next((t for t in study.get_trials(deepcopy=False) if t.number == number), None)
    if trial is not None and trial.state.name == "FAIL" and trial.number not in retried_numbers(study.get_trials(deepcopy=False)):
        retry_callback()(study, trial)
