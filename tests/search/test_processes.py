"""Search processes: Ctrl-C mid-trial and a re-run that continues; `--workers N` on one SQLite study, one of them killed."""

from __future__ import annotations

import os
import signal
import subprocess

import optuna
import pytest
from mlflow.tracking import MlflowClient
from search_fixtures import child_runs, search_command, search_spec, wait_for, write_json

from mrsynth.cli import main
from mrsynth.registry import iter_records
from mrsynth.spec.load import load_spec

pytestmark = pytest.mark.slow


@pytest.fixture
def warm_spec(tiny_demo, tmp_path, run_env):
    """A 2-trial search spec whose caches and tracking database are built, so trials start training at once."""
    from mrsynth.data.prepare import prepare_data

    def make(name: str):
        path = write_json(tmp_path / "experiments" / f"{name}.json", search_spec(tiny_demo, name, n_trials=2))
        prepare_data(load_spec(path), workers=1, progress=False)
        # Created here: a test polling MLflow while the search creates its database races the migrations.
        MlflowClient(os.environ["MLFLOW_TRACKING_URI"]).search_experiments()
        return path

    return make


def test_ctrl_c_fails_the_running_trial_and_a_rerun_continues(warm_spec, tmp_path, run_env):
    spec = warm_spec("intr")
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    args = ["--storage", storage, "--out", str(tmp_path / "best.json")]
    uri = os.environ["MLFLOW_TRACKING_URI"]
    proc = subprocess.Popen(search_command(spec, *args), start_new_session=True, stdout=subprocess.PIPE, text=True)
    wait_for(lambda: any(r.data.metrics for r in child_runs(uri, "intr")), what="trial 0 to finish an epoch")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 130 and "run the same command again to continue" in out
    first, queued = optuna.load_study(study_name="intr", storage=storage).trials
    assert first.state.name == "FAIL" and first.user_attrs["fail_reason"] == "interrupted"
    assert queued.state.name == "WAITING" and queued.params == first.params
    client = MlflowClient(uri)
    (child,) = child_runs(uri, "intr")
    assert child.info.status == "KILLED" and child.data.tags["search.state"] == "FAIL"
    assert client.get_run(child.data.tags["mlflow.parentRunId"]).info.status == "KILLED"
    assert [r["status"] for r in iter_records() if r["run_id"] == child.info.run_id] == ["KILLED"]

    assert main(["search", str(spec), *args]) == 0  # the re-run repeats the interrupted values first
    trials = optuna.load_study(study_name="intr", storage=storage).trials
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE", "COMPLETE"]
    assert trials[1].params == first.params and trials[1].system_attrs["failed_trial"] == 0
    assert client.get_run(child.data.tags["mlflow.parentRunId"]).info.status == "FINISHED"
    assert (tmp_path / "best.json").is_file()


def test_local_workers_share_one_study(warm_spec, tmp_path, run_env, capsys):
    spec = warm_spec("pair")
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    code = main(["search", str(spec), "--workers", "2", "--storage", storage, "--out", str(tmp_path / "best.json")])
    assert code == 0 and "started 2 workers" in capsys.readouterr().out
    trials = optuna.load_study(study_name="pair", storage=storage).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # one trial each, in parallel
    children = child_runs(os.environ["MLFLOW_TRACKING_URI"], "pair")
    assert len(children) == 2 and len({c.data.tags["mlflow.parentRunId"] for c in children}) == 1


def running_trial_with_a_run(storage: str, study: str, uri: str):
    """A trial that is training now: RUNNING in the study, its child run opened."""
    try:
        trials = optuna.load_study(study_name=study, storage=storage).trials
    except KeyError:
        return None
    opened = {r.data.tags["search.trial"] for r in child_runs(uri, study)}
    return next((t for t in trials if t.state.name == "RUNNING" and str(t.number) in opened), None)


def test_a_killed_worker_whose_trial_is_rerun_does_not_fail_the_search(warm_spec, tmp_path, run_env):
    spec = warm_spec("lost")
    storage, uri = f"sqlite:///{tmp_path / 'optuna.db'}", os.environ["MLFLOW_TRACKING_URI"]
    command = search_command(spec, "--workers", "2", "--storage", storage, "--heartbeat", "1", "--grace", "3",
                             "--out", str(tmp_path / "best.json"))
    parent = subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lost = wait_for(lambda: running_trial_with_a_run(storage, "lost", uri), what="a worker to start training")
        pid = int(lost.user_attrs["worker"].rsplit(":", 1)[1])
        os.killpg(pid, signal.SIGKILL)  # each worker leads its own session
        out, _ = parent.communicate(timeout=600)
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
    assert parent.returncode == 0, out
    assert f"(pid {pid}) was killed by SIGKILL; its trial {lost.number} was re-run as trial 2 (COMPLETE)" in out
    trials = optuna.load_study(study_name="lost", storage=storage).trials
    assert [t.state.name for t in trials if t.number != lost.number] == ["COMPLETE", "COMPLETE"]
    assert trials[lost.number].state.name == "FAIL" and trials[2].system_attrs["failed_trial"] == lost.number
    (dead_run,) = [r for r in child_runs(uri, "lost") if r.data.tags["search.trial"] == str(lost.number)]
    assert dead_run.info.status == "FAILED" and "worker lost" in dead_run.data.tags["search.reason"]
    assert (tmp_path / "best.json").is_file()
