"""MLflow side of a search: one parent run per study, one nested child run per trial (tags say which and how it ended)."""

from __future__ import annotations

import copy
import json
from typing import Any

from mrsynth import registry
from mrsynth.errors import MrsynthError
from mrsynth.search.specs import SearchBase, trial_name
from mrsynth.tracking import Tracker, flatten

PARENT_ATTR = "mlflow_parent_run_id"
STUDY_TAG, TRIAL_TAG, STATE_TAG, ROLE_TAG = "search.study", "search.trial", "search.state", "search.role"


def experiment_name(base: SearchBase) -> str:
    exp = base.loaded.experiment
    return exp.family or exp.name


def trial_tags(study: str, number: int, overrides: dict[str, Any]) -> dict[str, str]:
    return {STUDY_TAG: study, TRIAL_TAG: str(number), STATE_TAG: "RUNNING", ROLE_TAG: "trial",
            "search.overrides": json.dumps(overrides, sort_keys=True)[:4000]}


def _search_params(base: SearchBase, storage: str) -> dict[str, str]:
    search = base.search.model_dump(mode="json")
    params = {f"search.{k}": json.dumps(v) if not isinstance(v, str) else v for k, v in flatten(search).items()}
    params["search.storage"] = storage
    params["spec_name"] = base.name
    return {k: v for k, v in params.items() if len(v) <= 500}


def attach_parent(study: Any, base: SearchBase, tracker: Tracker, storage: str) -> str:
    """The study's parent run: found through the study's attribute, else created.

    Workers that start together may each create one. Study attributes are last-writer-wins, so they cannot
    pick the winner; every worker instead takes the earliest-created parent run of the study in MLflow
    (ties broken by run id) and deletes its own if it lost, so all of them nest their trials under one run."""
    run_id = study.user_attrs.get(PARENT_ATTR)
    if run_id:
        try:
            status = tracker.status(run_id)
        except Exception:
            raise MrsynthError(f"study {study.study_name} logs to MLflow run {run_id}, which {tracker.uri} does not have: "
                               "pass the --tracking-uri the study was started with (or use a new --study)") from None
        if status != "RUNNING":
            tracker.reopen(run_id)
        tracker.run_id = run_id
        return run_id
    tags = {ROLE_TAG: "study", STUDY_TAG: study.study_name, "spec_name": base.name, "spec_hash": base.loaded.spec_hash}
    run_id = tracker.start(experiment_name(base), f"{study.study_name} (search)", tags)
    tracker.log_params(_search_params(base, storage))
    winner = _first_parent(tracker, study.study_name)
    if winner != run_id:  # another worker created one first: use theirs
        tracker.client.delete_run(run_id)
    study.set_user_attr(PARENT_ATTR, winner)
    tracker.run_id = winner
    return winner


def _first_parent(tracker: Tracker, study: str) -> str:
    experiment_id = tracker.client.get_run(tracker.run_id).info.experiment_id
    query = f"tags.`{ROLE_TAG}` = 'study' and tags.`{STUDY_TAG}` = '{study}'"
    runs = tracker.client.search_runs([experiment_id], query, max_results=1000)
    return min(runs, key=lambda r: (r.info.start_time, r.info.run_id)).info.run_id


def _trial_runs(tracker: Tracker, parent_id: str, study: str, condition: str, limit: int) -> list[Any]:
    """Trial runs of the study that meet `condition`, found by tags whichever parent run their worker used."""
    experiment_id = tracker.client.get_run(parent_id).info.experiment_id
    query = f"tags.`{STUDY_TAG}` = '{study}' and tags.`{ROLE_TAG}` = 'trial' and {condition}"
    return tracker.client.search_runs([experiment_id], query, max_results=limit)


def find_child(tracker: Tracker, parent_id: str, study: str, number: int) -> str | None:
    """The trial's run, by study and trial number (the study name is unique in its storage)."""
    found = _trial_runs(tracker, parent_id, study, f"tags.`{TRIAL_TAG}` = '{number}'", 1)
    return found[0].info.run_id if found else None


def mark_child(tracker: Tracker, run_id: str, state: str, reason: str | None = None, value: float | None = None) -> None:
    tags: dict[str, Any] = {STATE_TAG: state}
    if reason:
        tags["search.reason"] = reason[:4000]
    if value is not None:
        tags["search.value"] = f"{value:.6g}"
    bound(tracker, run_id).set_tags(tags)


def bound(tracker: Tracker, run_id: str) -> Tracker:
    """The same client, pointed at another run."""
    other = copy.copy(tracker)
    other.run_id = run_id
    return other


def failed_child(tracker: Tracker, base: SearchBase, parent_id: str, study: str, number: int,
                 overrides: dict[str, Any], reason: str) -> str:
    """A child run for a trial that never reached training (invalid spec, data problem): params and reason only."""
    child = Tracker(tracker.uri)
    tags = {**trial_tags(study, number, overrides), STATE_TAG: "FAIL", "failure_reason": reason[:4000],
            "search.reason": reason[:4000]}
    child.start(experiment_name(base), trial_name(base.name, number), tags, parent_id)
    child.log_params({k: json.dumps(v) if not isinstance(v, str) else v for k, v in overrides.items()})
    child.end("FAILED")
    return child.run_id


def close_lost_child(tracker: Tracker, parent_id: str, study: str, number: int, reason: str) -> None:
    """The trial's worker died: its run (and registry record) say FAILED instead of RUNNING forever."""
    run_id = find_child(tracker, parent_id, study, number)
    if run_id is not None:
        close_child(tracker, run_id, reason)


def close_orphans(tracker: Tracker, parent_id: str, study: str, failed: set[int], reason: str) -> list[int]:
    """Runs still RUNNING whose trial the study has failed: their worker is gone (or was given up on) before
    it ended them, and whoever failed the trial may have looked before the run existed. Returns their trial numbers."""
    closed = []
    for run in _trial_runs(tracker, parent_id, study, "attributes.status = 'RUNNING'", 1000):
        number = int(run.data.tags[TRIAL_TAG])
        if number in failed:
            close_child(tracker, run.info.run_id, reason)
            closed.append(number)
    return closed


def close_child(tracker: Tracker, run_id: str, reason: str, state: str = "FAIL", status: str = "FAILED") -> None:
    """Tag the child's trial state; a run still RUNNING (its runner never got to end it) ends as `status`, with its record."""
    mark_child(tracker, run_id, state, reason)
    if tracker.status(run_id) != "RUNNING":
        return
    child = bound(tracker, run_id)
    child.set_tags({"failure_reason": reason[:4000]})
    child.end(status)
    for record in registry.find_records(run_id):
        if record["run_id"] == run_id and record["status"] == "RUNNING":
            registry.write_record({**record, "status": status, "reason": reason, "ended_at": registry.now()})
