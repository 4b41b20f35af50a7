"""A tiny search end to end: 4 trials over thresholds, λ and masking on the tiny demo (about 2 minutes here)."""

from __future__ import annotations

import contextlib
import io
import json
from types import SimpleNamespace

import optuna
import pytest
from mlflow.tracking import MlflowClient
from search_fixtures import search_spec, write_json

from mrsynth.cache import CacheStore
from mrsynth.cli import main
from mrsynth.registry import iter_records
from mrsynth.search import SearchOptions, run_search
from mrsynth.search.specs import comparable
from mrsynth.spec.load import load_spec
from mrsynth_testing import stores_under

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def searched(tiny_demo, tmp_path_factory):
    """One 4-trial search over a warm cache, shared by the read-only checks below."""
    stores = tmp_path_factory.mktemp("search")
    with stores_under(stores) as env:
        yield _search(tiny_demo, stores, env)


def _search(tiny_demo, stores, env) -> SimpleNamespace:
    from mrsynth.data.prepare import prepare_data

    spec_path = write_json(stores / "experiments" / "tiny.json", search_spec(tiny_demo))
    prepare_data(load_spec(spec_path), workers=1, progress=False)  # warm: the search itself must build nothing
    cache = CacheStore(stores / "cache")
    before = [(e.stage, e.key) for e in cache.entries()]
    storage = f"sqlite:///{stores / 'optuna.db'}"
    options = SearchOptions(storage=storage, out=stores / "out" / "tiny-best.json", prep_workers=1)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = run_search(spec_path, options)
    return SimpleNamespace(result=result, stores=stores, storage=storage, spec_path=spec_path, options=options,
                           before=before, after=[(e.stage, e.key) for e in cache.entries()], printed=printed.getvalue(),
                           env=env)


@pytest.fixture
def env(searched, monkeypatch):
    for key, value in searched.env.items():
        monkeypatch.setenv(key, value)
    return searched


def test_study_has_four_complete_trials_with_intermediate_values(env):
    study = optuna.load_study(study_name="tiny", storage=env.storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 4
    assert env.result.stopped == "done" and env.result.tally.accounted == 4
    for trial in study.trials:
        assert sorted(trial.intermediate_values) == [1, 2]  # one report per validation epoch
        assert trial.value in trial.intermediate_values.values()


def test_mlflow_has_one_parent_and_four_nested_children(env):
    client = MlflowClient(env.env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("tiny")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("search.role") == "study"]
    children = [r for r in runs if r.data.tags.get("search.role") == "trial"]
    assert len(parents) == 1 and len(children) == 4 and len(runs) == 5
    parent = parents[0]
    assert parent.info.run_id == env.result.parent_run_id and parent.info.status == "FINISHED"
    study = optuna.load_study(study_name="tiny", storage=env.storage)
    for child in children:
        tags = child.data.tags
        trial = study.trials[int(tags["search.trial"])]
        assert tags["mlflow.parentRunId"] == parent.info.run_id and tags["search.study"] == "tiny"
        assert tags["search.state"] == "COMPLETE" and child.info.status == "FINISHED"
        assert float(tags["search.value"]) == pytest.approx(trial.value, rel=1e-5)
        for path, value in trial.params.items():
            assert child.data.params[path] == (value if isinstance(value, str) else json.dumps(value))
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"top_trials.txt", "trials.csv", "figures", "best_spec"} <= artifacts
    figures = {a.path for a in client.list_artifacts(parent.info.run_id, "figures")}
    assert {"figures/optimization_history.png", "figures/param_importances.png"} <= figures
    assert parent.data.metrics["best_value"] == pytest.approx(max(t.value for t in study.trials))


def test_every_trial_is_in_the_registry_with_the_same_cache_keys(env):
    records = [r for r in iter_records() if r["spec_name"].startswith("tiny.trial-")]
    assert sorted(r["spec_name"] for r in records) == [f"tiny.trial-{n}" for n in range(4)]
    assert {r["status"] for r in records} == {"FINISHED"}
    assert len({json.dumps(r["cache_keys"], sort_keys=True) for r in records}) == 1
    assert all(r["resolved_spec"]["search"] is None for r in records)


def test_threshold_masking_and_lambda_trials_build_no_cache_entries(env):
    assert env.before and env.after == env.before


def test_best_spec_validates_and_carries_the_best_trials_values(env, capsys):
    study = optuna.load_study(study_name="tiny", storage=env.storage)
    best = study.best_trial
    out = env.options.out
    assert env.result.summary.best_spec == out and env.result.summary.best_trial == best.number
    assert main(["validate", str(out)]) == 0 and "ok  tiny-best" in capsys.readouterr().out
    written = json.loads(out.read_text())
    assert written["search"] is None and f"trial {best.number}" in written["description"]
    loaded = load_spec(out).experiment
    assert loaded.data.qc.min_mi == best.params["data.qc.min_mi"] and loaded.loss.l1 == best.params["loss.l1"]
    assert loaded.masking.kind == best.params["masking.kind"]
    (record,) = [r for r in iter_records() if r["spec_name"] == f"tiny.trial-{best.number}"]
    assert comparable(loaded.resolved()) == comparable(record["resolved_spec"])
    assert not (env.spec_path.parent / "tiny-best.json").exists()  # --out redirected it


def test_top_trials_are_printed_best_first(env):
    text = env.printed
    assert "4 trials accounted for: 4 complete, 0 pruned, 0 failed" in text
    study = optuna.load_study(study_name="tiny", storage=env.storage)
    ranked = sorted(study.trials, key=lambda t: -t.value)
    table = text.split("accounted for")[1]
    positions = [table.index(f"\n{t.number:>6} COMPLETE") for t in ranked]
    assert positions == sorted(positions)
    assert f"best: trial {ranked[0].number}" in text


def test_a_rerun_of_a_finished_study_trains_nothing(env):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        again = run_search(env.spec_path, env.options)
    study = optuna.load_study(study_name="tiny", storage=env.storage)
    assert len(study.trials) == 4 and again.parent_run_id == env.result.parent_run_id
    assert "COMPLETE  " not in printed.getvalue().split("study tiny:")[0]  # no trial line before the summary
