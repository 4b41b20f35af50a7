"""Workers that start a study together end up nesting their trials under one parent run."""

from __future__ import annotations

import optuna
from mlflow.tracking import MlflowClient
from search_fixtures import search_spec, write_json

from mrsynth.search.runs import (
    PARENT_ATTR,
    ROLE_TAG,
    STUDY_TAG,
    attach_parent,
    experiment_name,
    find_child,
    trial_tags,
)
from mrsynth.search.specs import load_search_base
from mrsynth.tracking import Tracker


def _setup(tmp_path):
    base = load_search_base(write_json(tmp_path / "experiments" / "race.json", search_spec(tmp_path / "demo", "race")))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    study = optuna.create_study(study_name="race", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    return base, uri, study


def test_the_earliest_parent_wins_even_when_its_worker_has_not_set_the_study_attribute_yet(tmp_path):
    base, uri, study = _setup(tmp_path)
    first = Tracker(uri)  # another worker created its parent run and has not yet written the study attribute
    early = first.start(experiment_name(base), "race (search)", {ROLE_TAG: "study", STUDY_TAG: "race"})

    chosen = attach_parent(study, base, Tracker(uri), "sqlite")

    assert chosen == early
    assert study.user_attrs[PARENT_ATTR] == early
    client = MlflowClient(uri)
    live = client.search_runs([client.get_run(early).info.experiment_id], f"tags.`{ROLE_TAG}` = 'study'")
    assert [r.info.run_id for r in live] == [early]  # the later worker deleted its own parent


def test_a_trial_run_is_found_whichever_parent_its_worker_used(tmp_path):
    base, uri, study = _setup(tmp_path)
    parent = attach_parent(study, base, Tracker(uri), "sqlite")
    stray = Tracker(uri)
    other_parent = stray.start(experiment_name(base), "stray parent", {ROLE_TAG: "study", STUDY_TAG: "elsewhere"})
    child = Tracker(uri).start(experiment_name(base), "race-t3", trial_tags("race", 3, {}), other_parent)

    assert find_child(Tracker(uri), parent, "race", 3) == child
    assert find_child(Tracker(uri), parent, "race", 4) is None
    assert find_child(Tracker(uri), parent, "another-study", 3) is None


def test_workers_that_create_the_experiment_together_both_start(tmp_path):
    base, uri, study = _setup(tmp_path)
    Tracker(uri).experiment_id(experiment_name(base))  # the other worker creates the experiment ...
    late = Tracker(uri)
    answers, look = [None], late.client.get_experiment_by_name
    late.client.get_experiment_by_name = lambda name: answers.pop() if answers else look(name)  # ... just after this one looked

    chosen = attach_parent(study, base, late, "sqlite")

    assert MlflowClient(uri).get_run(chosen).info.experiment_id == look(experiment_name(base)).experiment_id
