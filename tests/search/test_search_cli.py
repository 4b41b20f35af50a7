"""`mrsynth search` from the command line: invalid combinations fail as trials, bad input fails as one line."""

from __future__ import annotations

import optuna
from mlflow.tracking import MlflowClient
from search_fixtures import search_spec, write_json

from mrsynth.cli import main

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
