"""The worker loop: counting trials over workers, re-queued failures, stale trials of dead workers, Ctrl-C."""

from __future__ import annotations

import time

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from mrsynth.search.objective import TrialFailed
from mrsynth.search.runs import PARENT_ATTR
from mrsynth.search.storage import open_storage
from mrsynth.search.worker import LostWorker, requeue_interrupted, retry_callback, tally, work

DIST = {"x": optuna.distributions.FloatDistribution(0, 1)}


class Quadratic:
    """A stand-in objective: fails for x > 0.9, interrupts when told to."""

    def __init__(self, interrupt_at: int | None = None):
        self.running, self.calls, self.interrupt_at = None, [], interrupt_at

    def __call__(self, trial):
        self.running = trial.number
        x = trial.suggest_float("x", 0, 1)
        self.calls.append((trial.number, x))
        if trial.number == self.interrupt_at:
            raise KeyboardInterrupt
        if x > 0.9:
            raise TrialFailed("x too large")
        return (x - 0.3) ** 2


def silent(study, trial):
    pass


def test_tally_counts_retried_failures_once():
    study = optuna.create_study()
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=1.0, params={"x": 0.1}, distributions=DIST))
    study.add_trial(create_trial(state=TrialState.FAIL, params={"x": 0.2}, distributions=DIST))  # lost, retried below
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=2.0, params={"x": 0.2}, distributions=DIST,
                                 system_attrs={"failed_trial": 1, "retry_history": [1]}))
    study.add_trial(create_trial(state=TrialState.FAIL, params={"x": 0.95}, distributions=DIST))  # failed for good
    study.add_trial(create_trial(state=TrialState.PRUNED, params={"x": 0.5}, distributions=DIST, intermediate_values={1: 3.0}))
    counts = tally(study.trials)
    assert (counts.complete, counts.pruned, counts.failed, counts.retried) == (2, 1, 1, 1)
    assert counts.accounted == 4


def test_work_stops_at_n_trials_over_the_whole_study():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 0.5), n_trials=2)  # another worker's trials
    counts, why = work(study, Quadratic(), n_trials=5, timeout=None, poll=0.1, report=silent)
    assert why == "done" and counts.accounted == 5 and len(study.trials) == 5


def test_failed_trials_count_and_the_study_goes_on():
    study = optuna.create_study()
    for x in (0.95, 0.2, 0.97):
        study.enqueue_trial({"x": x})
    counts, _ = work(study, Quadratic(), n_trials=3, timeout=None, poll=0.1, report=silent)
    assert [t.state.name for t in study.trials] == ["FAIL", "COMPLETE", "FAIL"]
    assert counts.failed == 2 and counts.accounted == 3


def test_ctrl_c_fails_the_trial_and_queues_it_again():
    study = optuna.create_study()
    study.enqueue_trial({"x": 0.42})
    objective = Quadratic(interrupt_at=0)
    with pytest.raises(KeyboardInterrupt):
        work(study, objective, n_trials=2, timeout=None, poll=0.1, report=silent)
    first, retry = study.trials
    assert first.state == TrialState.FAIL and retry.state == TrialState.WAITING and retry.params == {"x": 0.42}
    requeue_interrupted(study, 0)  # idempotent: never queued twice
    assert len(study.trials) == 2
    objective.interrupt_at = None
    counts, _ = work(study, objective, n_trials=2, timeout=None, poll=0.1, report=silent)  # the re-run continues
    assert objective.calls[1] == (1, 0.42) and counts.accounted == 2 and counts.retried == 1


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")
def test_a_dead_workers_trial_is_failed_and_rerun_with_its_parameters(tmp_path):
    """A trial whose heartbeat stops is failed after the grace period and re-queued; a live worker runs it."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    storage = open_storage(url, heartbeat=1, grace=2, on_stale=retry_callback())
    study = optuna.create_study(storage=storage, study_name="s")
    study.enqueue_trial({"x": 0.5})
    lost = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})  # a worker took it ...
    assert lost.params == {"x": 0.5}
    storage.record_heartbeat(lost._trial_id)  # ... beat once, then died
    time.sleep(2.5)
    objective = Quadratic()
    counts, why = work(study, objective, n_trials=2, timeout=60, poll=0.2, report=silent)
    states = {t.number: t.state.name for t in study.trials}
    assert why == "done" and states[0] == "FAIL"
    retry = [t for t in study.trials if t.system_attrs.get("failed_trial") == 0]
    assert len(retry) == 1 and retry[0].state.name == "COMPLETE" and retry[0].params == lost.params
    assert counts.accounted == 2 and counts.retried == 1 and counts.running == 0


def test_a_stale_trial_is_queued_again_even_when_mlflow_fails(monkeypatch, capsys):
    def locked(*args):
        raise RuntimeError("database is locked")

    monkeypatch.setattr("mrsynth.search.worker.close_lost_child", locked)
    monkeypatch.setattr("mrsynth.search.worker.Tracker", lambda uri: None)
    study = optuna.create_study()
    study.set_user_attr(PARENT_ATTR, "parent-run")
    study.enqueue_trial({"x": 0.5})
    lost = study.ask(DIST)
    study._storage.set_trial_state_values(lost._trial_id, TrialState.FAIL)  # what fail_stale_trials does, then:
    LostWorker("sqlite:///unused.db", grace=2)(study, study.trials[0])
    retry = study.trials[1]
    assert retry.state == TrialState.WAITING and retry.system_attrs["fixed_params"] == {"x": 0.5}
    assert "warning: closing the run of trial 0 in MLflow failed (RuntimeError: database is locked)" in capsys.readouterr().out


def test_timeout_stops_starting_trials():
    study = optuna.create_study()
    counts, why = work(study, Quadratic(), n_trials=1000, timeout=0.0, poll=0.1, report=silent)
    assert why == "timeout" and counts.accounted <= 1


def test_a_swallowed_ctrl_c_still_stops_the_worker_after_its_trial():
    """Python drops a KeyboardInterrupt raised inside a finalizer; the worker must stop all the same."""
    import os
    import signal

    class SwallowsInterrupt(Quadratic):
        def __call__(self, trial):
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.1)
            except KeyboardInterrupt:
                pass  # as in "Exception ignored in: <weakref callback>"
            return super().__call__(trial)

    study = optuna.create_study()
    study.enqueue_trial({"x": 0.5})
    with pytest.raises(KeyboardInterrupt):
        work(study, SwallowsInterrupt(), n_trials=5, timeout=None, poll=0.1, report=silent)
    assert [t.state.name for t in study.trials] == ["COMPLETE"]  # its trial finished; no second one started
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the guard put the handler back
