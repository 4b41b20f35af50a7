"""Distributed search on PostgreSQL: two workers share a study; one is SIGKILLed mid-trial; nothing is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid

import optuna
import pytest
from mlflow.tracking import MlflowClient
from search_fixtures import child_runs, postgres_url, search_command, search_spec, wait_for, write_json  # noqa: F401

from mrsynth.cli import main
from mrsynth.search import tally
from mrsynth.search.storage import with_driver
from mrsynth.spec.load import load_spec

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def running_trial_of(storage: str, study: str, pid: int):
    try:
        trials = optuna.load_study(study_name=study, storage=storage).trials
    except KeyError:
        return None
    return next((t for t in trials if t.state.name == "RUNNING" and t.user_attrs.get("worker", "").endswith(f":{pid}")), None)


def test_a_killed_worker_loses_no_trial(postgres_url, tiny_demo, tmp_path, run_env):  # noqa: F811
    from mrsynth.data.prepare import prepare_data

    spec = write_json(tmp_path / "experiments" / "dist.json", search_spec(tiny_demo, "dist", n_trials=3))
    prepare_data(load_spec(spec), workers=1, progress=False)
    MlflowClient(os.environ["MLFLOW_TRACKING_URI"]).search_experiments()  # create the tracking database before two workers race to
    study = f"dist-{uuid.uuid4().hex[:8]}"
    storage = with_driver(postgres_url)
    uri = os.environ["MLFLOW_TRACKING_URI"]
    common = ["--storage", postgres_url, "--study", study, "--heartbeat", "1", "--grace", "3", "--no-summary"]
    victim, survivor = (subprocess.Popen(search_command(spec, *common, "--worker-index", str(i)), start_new_session=True,
                                         stdout=subprocess.DEVNULL) for i in (0, 1))
    try:
        lost = wait_for(lambda: running_trial_of(storage, study, victim.pid), what="the victim's trial")
        wait_for(lambda: any(r.data.tags["search.trial"] == str(lost.number) for r in child_runs(uri, "dist")),
                 what="the victim's trial to start training")
        os.killpg(victim.pid, signal.SIGKILL)
        assert survivor.wait(timeout=600) == 0
    finally:
        for proc in (victim, survivor):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    trials = optuna.load_study(study_name=study, storage=storage).trials
    counts = tally(trials)
    assert counts.accounted == 3 and counts.running == 0 and counts.waiting == 0
    killed = trials[lost.number]
    assert killed.state.name == "FAIL"
    (retry,) = [t for t in trials if t.system_attrs.get("failed_trial") == lost.number]
    assert retry.state.name == "COMPLETE" and retry.params == killed.params
    assert all(t.state.name == "COMPLETE" for t in trials if t.number != lost.number)
    (dead_run,) = [r for r in child_runs(uri, "dist") if r.data.tags["search.trial"] == str(lost.number)]
    assert dead_run.info.status == "FAILED" and "worker lost" in dead_run.data.tags["search.reason"]

    out = tmp_path / "dist-best.json"
    assert main(["search", str(spec), "--storage", postgres_url, "--study", study, "--out", str(out)]) == 0
    assert load_spec(out).experiment.search is None
