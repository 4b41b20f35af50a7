"""`mrsynth search` from the command line: invalid combinations fail as trials, bad input fails as one line."""

from __future__ import annotations

import os

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState
from search_fixtures import search_spec, write_json

from mrsynth.cli import main
from mrsynth.search.runs import attach_parent, trial_tags
from mrsynth.search.specs import load_search_base
from mrsynth.search.storage import open_storage
from mrsynth.search.worker import LostWorker
from mrsynth.tracking import Tracker

# Each value is valid on its own (checked when the spec loads); together, no loss term is left.
COMBO_SPACE = {"loss.adversarial": {"kind": "categorical", "choices": [0.0, 1.0]},
               "loss.l1": {"kind": "categorical", "choices": [0.0, 100.0]}}


def test_an_invalid_combination_is_a_failed_trial_with_its_reason(tmp_path, capsys, isolated_stores):
    spec = write_json(tmp_path / "experiments" / "combo.json", search_spec(tmp_path / "demo", "combo", space=COMBO_SPACE))
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(storage=storage, study_name="combo", direction="maximize")
    study.enqueue_trial({"loss.adversarial": 0.0, "loss.l1": 0.0})
    code = main(["search", str(spec), "--trials", "1", "--storage", storage, "--out", str(tmp_path / "best.json")])
    out = capsys.readouterr().out
    assert code == 1 and "trial 0 FAIL" in out and "no trial completed" in out
    (trial,) = optuna.load_study(study_name="combo", storage=storage).trials
    reason = trial.user_attrs["fail_reason"]
    assert trial.state.name == "FAIL" and "loss: at least one loss weight must be > 0" in reason
    assert "loss.adversarial=0, loss.l1=0" in reason
    client = MlflowClient(f"sqlite:///{isolated_stores / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("combo").experiment_id])
    (child,) = [r for r in runs if r.data.tags.get("search.role") == "trial"]
    assert child.info.status == "FAILED" and child.data.tags["search.state"] == "FAIL"
    assert "at least one loss weight" in child.data.tags["search.reason"]
    assert child.data.params == {"loss.adversarial": "0.0", "loss.l1": "0.0"}
    assert not (tmp_path / "best.json").exists()


def _run_opened_after_its_trial_was_failed(tmp_path, name: str) -> tuple[str, list[str]]:
    """The race: a stalled worker's trial is failed as stale while it has no run yet, so the stale callback closes
    nothing; the worker wakes, opens the run and dies; another worker re-runs the trial. Returns the run and options."""
    spec = write_json(tmp_path / "experiments" / f"{name}.json", search_spec(tmp_path / "demo", name, space=COMBO_SPACE))
    uri, url = os.environ["MLFLOW_TRACKING_URI"], f"sqlite:///{tmp_path / 'optuna.db'}"
    lost = LostWorker(uri, grace=2)
    study = optuna.create_study(storage=open_storage(url, 1, 2, lost), study_name=name, direction="maximize")
    parent = attach_parent(study, load_search_base(spec), Tracker(uri), "sqlite")
    study.enqueue_trial({"loss.adversarial": 1.0, "loss.l1": 100.0})
    stalled = study.ask({k: optuna.distributions.CategoricalDistribution(v["choices"]) for k, v in COMBO_SPACE.items()})
    study._storage.set_trial_state_values(stalled._trial_id, TrialState.FAIL)  # what fail_stale_trials does, then:
    lost(study, study.trials[0])  # its callback finds no run to close, and queues the parameters again
    run_id = Tracker(uri).start(name, f"{name}.trial-0", trial_tags(name, 0, stalled.params), parent)  # then it dies
    retry = study.ask()
    study.tell(retry, 1.0)
    return run_id, [str(spec), "--trials", "1", "--storage", url, "--out", str(tmp_path / "best.json")]


def _assert_closed_as_lost(run_id: str) -> None:
    run = MlflowClient(os.environ["MLFLOW_TRACKING_URI"]).get_run(run_id)
    assert run.info.status == "FAILED" and run.data.tags["search.state"] == "FAIL"
    assert "worker lost" in run.data.tags["search.reason"]


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")
def test_the_next_worker_closes_a_run_opened_after_its_trial_was_failed_as_stale(tmp_path):
    run_id, options = _run_opened_after_its_trial_was_failed(tmp_path, "late")
    assert MlflowClient(os.environ["MLFLOW_TRACKING_URI"]).get_run(run_id).info.status == "RUNNING"
    assert main(["search", *options, "--no-summary"]) == 0  # a worker with nothing left to run
    _assert_closed_as_lost(run_id)


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")
def test_the_summary_closes_a_run_opened_after_its_trial_was_failed_as_stale(tmp_path, monkeypatch):
    run_id, options = _run_opened_after_its_trial_was_failed(tmp_path, "late")
    monkeypatch.setattr("mrsynth.search.run.work", lambda study, *args, **kwargs: (None, "done"))  # no worker loop ran
    assert main(["search", *options]) == 0
    _assert_closed_as_lost(run_id)


def test_a_changed_spec_does_not_join_the_old_study(tmp_path, capsys):
    data = search_spec(tmp_path / "demo", "combo", space=COMBO_SPACE)
    spec = write_json(tmp_path / "experiments" / "combo.json", data)
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(storage=storage, study_name="combo", direction="maximize")
    study.enqueue_trial({"loss.adversarial": 0.0, "loss.l1": 0.0})
    assert main(["search", str(spec), "--trials", "1", "--storage", storage]) == 1
    data["search"]["space"]["loss.l1"]["choices"] = [0.0, 50.0]
    write_json(spec, data)
    capsys.readouterr()
    assert main(["search", str(spec), "--trials", "2", "--storage", storage]) == 1
    err = capsys.readouterr().err
    assert "study combo was started from a different version of combo" in err and "--study NEW_NAME" in err
    data["search"]["space"]["loss.l1"]["choices"] = [0.0, 100.0]
    data["search"]["n_trials"] = 9  # the budget may change without a new study
    write_json(spec, data)
    assert main(["search", str(spec), "--trials", "1", "--storage", storage]) == 1
    assert "different version" not in capsys.readouterr().err


def test_unreachable_storage_is_one_line(tmp_path, capsys):
    spec = write_json(tmp_path / "experiments" / "tiny.json", search_spec(tmp_path / "demo"))
    code = main(["search", str(spec), "--storage", "postgresql://someone:secret@127.0.0.1:9/nowhere"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("mrsynth: --storage postgresql://someone:***@127.0.0.1:9/nowhere: cannot open")
    assert len(err.strip().splitlines()) == 1
    assert "secret" not in err and "Traceback" not in err


def test_spec_without_search_section(tmp_path, capsys):
    spec = write_json(tmp_path / "experiments" / "plain.json", {"name": "plain"})
    assert main(["search", str(spec), "--storage", f"sqlite:///{tmp_path / 'o.db'}"]) == 1
    assert "has no `search` section" in capsys.readouterr().err


def test_help_lists_the_distributed_options(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["search", "--help"])
    text = capsys.readouterr().out
    for option in ("--trials", "--storage", "--study", "--workers", "--tracking-uri", "--out"):
        assert option in text
