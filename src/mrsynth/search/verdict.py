"""After `--workers N`: the search's outcome follows what the study holds, not the workers' exit codes.

A worker that died is no failure when each trial it left behind was re-run to an end by another worker;
it is one when such a trial is left failed or unfinished, or the study lacks trials."""

from __future__ import annotations

from typing import Any

from mrsynth.search.local import WorkerExit
from mrsynth.search.objective import REASON_ATTR, WORKER_ATTR, worker_id
from mrsynth.search.worker import retries_of, tally


def settled(trial: Any) -> bool:
    """Complete, pruned, or failed for a reason of its own (not because its worker vanished)."""
    state = trial.state.name
    return state in ("COMPLETE", "PRUNED") or (state == "FAIL" and bool(trial.user_attrs.get(REASON_ATTR)))


def left_behind(trials: list[Any], ended: WorkerExit) -> list[Any]:
    """The dead worker's trials that it never finished (failed as stale, or still RUNNING)."""
    mine = worker_id(ended.pid)
    return [t for t in trials if t.user_attrs.get(WORKER_ATTR) == mine and t.state.name in ("FAIL", "RUNNING")
            and not settled(t)]


def fate(trial: Any, retries: dict[int, Any]) -> tuple[bool, str]:
    """Whether a trial left behind was re-run to an end, and how to say so."""
    last = trial
    while last.number in retries:
        last = retries[last.number]
    if last is trial:
        return False, f"its trial {trial.number} " + ("is still RUNNING" if trial.state.name == "RUNNING" else "failed and was not re-run")
    if settled(last):
        return True, f"its trial {trial.number} was re-run as trial {last.number} ({last.state.name})"
    return False, f"its trial {trial.number} was queued again as trial {last.number}, which is left {last.state.name}"


def judge_workers(trials: list[Any], exits: list[WorkerExit], n_trials: int, timeout: float | None) -> tuple[str, list[str], list[str]]:
    """(stopped, notes, problems): `done` unless a dead worker's trial or a trial of the budget is missing."""
    if any(e.code == 130 for e in exits):
        return "interrupted", [], []
    dead = [e for e in exits if e.died]
    retries = retries_of(trials)
    notes, problems = [], []
    for ended in dead:
        behind = left_behind(trials, ended)
        if not behind:
            notes.append(f"{ended}; it left no trial unfinished")
        for trial in behind:
            ok, text = fate(trial, retries)
            (notes if ok else problems).append(f"{ended}; {text}")
    counts = tally(trials)
    if dead and timeout is None and counts.accounted < n_trials:
        problems.append(f"the study has {counts.accounted} of {n_trials} trials accounted for")
    return ("workers failed" if problems else "done"), notes, problems
