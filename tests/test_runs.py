"""Run bookkeeping without MLflow: a run opens, resumes into its own record and records how it ended."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mrsynth.checkpoint import save_checkpoint
from mrsynth.errors import DataError, MrsynthError
from mrsynth.registry import iter_records
from mrsynth.runs import open_run


class FakeTracker:
    uri = "fake://"

    def __init__(self):
        self.calls: list[tuple] = []

    def start(self, experiment, run_name, tags, parent_run_id):
        self.calls.append(("start", experiment, tags, parent_run_id))
        return f"run{len(self.calls)}"

    def reopen(self, run_id):
        self.calls.append(("reopen", run_id))
        return run_id

    def set_tags(self, tags):
        self.calls.append(("tags", tags))

    def end(self, status):
        self.calls.append(("end", status))


@pytest.fixture
def loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("MRSYNTH_RUNS", str(tmp_path / "runs"))
    experiment = SimpleNamespace(name="alpha", family=None, resolved=lambda: {"name": "alpha"},
                                 eval=SimpleNamespace(select_by="val/ssim"))
    return SimpleNamespace(experiment=experiment, spec_hash="a" * 64, path=tmp_path / "alpha.json", chain=[])


DATA = SimpleNamespace(cache_keys=lambda: {"slices": "k"}, data_fingerprint="f" * 64)


def open_alpha(loaded, tracker, resume=False):
    return open_run(loaded, DATA, tracker, resume=resume, parent_run_id=None, tags={"kind": "motion_qc"})


def test_resume_reopens_the_unfinished_record_and_its_last_checkpoint(loaded):
    tracker = FakeTracker()
    first, state = open_alpha(loaded, tracker)
    assert state is None and tracker.calls[0][2] == {"spec_name": "alpha", "spec_hash": "a" * 64, "kind": "motion_qc"}
    save_checkpoint(first.checkpoint_dir / "last.pt", {"epoch": 3})
    first.finish("FAILED", {}, "DataError: bad labels")

    again, state = open_alpha(loaded, tracker, resume=True)
    (record,) = iter_records()
    assert again.run_dir == first.run_dir and record["run_id"] == first.record["run_id"] == "run1"
    assert record["status"] == "RUNNING" and tracker.calls[-1] == ("reopen", "run1") and state == {"epoch": 3}
    again.finish("FINISHED", {})
    with pytest.raises(MrsynthError, match="no unfinished run of alpha"):
        open_alpha(loaded, tracker, resume=True)


class Stop(Exception):
    pass


@pytest.mark.parametrize(("error", "status", "reason"), [
    (None, "FINISHED", None),
    (DataError("no labels"), "FAILED", "DataError: no labels"),
    (ValueError("bug"), "FAILED", "ValueError: bug"),
    (Stop("pruned"), "KILLED", "stopped: pruned"),
    (KeyboardInterrupt(), "KILLED", "interrupted"),
])
def test_outcome_records_how_the_run_ended_and_keeps_what_was_measured(loaded, error, status, reason):
    run, _ = open_alpha(loaded, FakeTracker())
    raised = None
    try:
        with run.outcome(stopped=(Stop,)) as outcome:
            outcome.metrics.update({"test/mae": 0.5, "train/loss": 1.0})
            if error is not None:
                raise error
    except BaseException as exc:  # KeyboardInterrupt is one of the cases
        raised = exc
    (record,) = iter_records()
    assert (record["status"], record["reason"], record["metrics"]) == (status, reason, {"test/mae": 0.5})
    assert run.tracker.calls[-1] == ("end", status)
    user_error = isinstance(error, MrsynthError)
    assert raised is (None if error is None or user_error else error)
    assert outcome.result == (run.result(status, outcome.metrics, reason) if error is None or user_error else None)
