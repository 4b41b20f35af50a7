"""`mrsynth search`: a study over the spec's `search` space, trials run by the same runner as `mrsynth run`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrsynth.search.local import WorkerArgs, WorkerExit, run_workers
from mrsynth.search.objective import Objective
from mrsynth.search.runs import attach_parent
from mrsynth.search.space import grid_size
from mrsynth.search.specs import SearchBase, default_best_path, load_search_base
from mrsynth.search.storage import DEFAULT_HEARTBEAT, default_storage, open_storage, redact
from mrsynth.search.strategy import require_packages
from mrsynth.search.study import open_study
from mrsynth.search.summary import Summary, summarize
from mrsynth.search.verdict import judge_workers
from mrsynth.search.worker import LostWorker, Tally, report_line, tally, work
from mrsynth.tracking import Tracker, resolve_tracking_uri


@dataclass(frozen=True)
class SearchOptions:
    trials: int | None = None  # default: search.n_trials
    storage: str | None = None  # default: $MRSYNTH_SEARCH_STORAGE, else sqlite optuna.db at the project root
    study: str | None = None  # default: the spec's name
    workers: int = 1  # local worker processes (1: run in this process)
    tracking_uri: str | None = None
    out: Path | None = None  # best spec; default: <spec folder>/<name>-best.json
    overrides: tuple[str, ...] = ()  # --set PATH=VALUE applied to the searched spec
    timeout: float | None = None  # default: search.timeout
    heartbeat: int = DEFAULT_HEARTBEAT
    grace: int | None = None  # default: 2 x heartbeat
    worker_index: int = 0
    summarize: bool = True
    progress: bool = False
    prep_workers: int | None = None  # preprocessing processes inside a trial


@dataclass
class SearchResult:
    study: str
    storage: str  # password hidden
    parent_run_id: str
    tally: Tally
    stopped: str  # done | timeout | interrupted | workers failed
    summary: Summary | None = None


def trial_budget(base: SearchBase, requested: int | None) -> int:
    """--trials, else search.n_trials; a grid has no more trials than points."""
    n = requested or base.search.n_trials
    if base.search.sampler.kind == "grid":
        points = grid_size(base.search.space)
        if n > points:
            print(f"note: the grid has {points} points: searching {points} trials, not {n}")
        return min(n, points)
    return n


def report_workers(study: Any, exits: list[WorkerExit], n_trials: int, timeout: float | None) -> str:
    """How the local workers' search ended, judged by the study; says what became of each dead worker's trials."""
    stopped, notes, problems = judge_workers(study.get_trials(deepcopy=False), exits, n_trials, timeout)
    for line in notes:
        print(f"note: {line}", flush=True)
    for line in problems:
        print(f"search incomplete: {line}", flush=True)
    return stopped


def run_search(spec: str | Path, options: SearchOptions = SearchOptions()) -> SearchResult:
    """Run (or join, or continue) the study of `spec` until it has its trials, then summarise it."""
    base = load_search_base(spec, options.overrides)
    require_packages(base.search.sampler.kind)  # before a study is created with a sampler that cannot run
    n_trials = trial_budget(base, options.trials)
    storage_url = options.storage or default_storage()
    grace = options.grace or 2 * options.heartbeat
    tracking_uri = resolve_tracking_uri(options.tracking_uri)
    lost = LostWorker(tracking_uri, grace)
    storage = open_storage(storage_url, options.heartbeat, grace, lost)
    study = open_study(storage, options.study or base.name, base, options.worker_index)
    tracker = Tracker(tracking_uri)
    parent_id = attach_parent(study, base, tracker, redact(storage_url))
    timeout = options.timeout if options.timeout is not None else base.search.timeout
    if options.workers > 1:
        args = WorkerArgs(base.loaded.path, study.study_name, n_trials, storage_url, tracker.uri, options.overrides,
                          timeout, options.heartbeat, grace)
        stopped = report_workers(study, run_workers(args, options.workers), n_trials, timeout)
        counts = tally(study.get_trials(deepcopy=False))
    else:
        prefix = f"[worker {options.worker_index}] " if not options.summarize else ""
        objective = Objective(base, study.study_name, parent_id, tracker, options.progress, options.prep_workers)
        try:
            counts, stopped = work(study, objective, n_trials, timeout, options.heartbeat,
                                   report_line(prefix, base.search.objective), lost.look)
        except KeyboardInterrupt:
            counts, stopped = tally(study.get_trials(deepcopy=False)), "interrupted"
    result = SearchResult(study.study_name, redact(storage_url), parent_id, counts, stopped)
    if not options.summarize:
        return result  # a worker of a larger search: the process that summarises owns the parent run's status
    lost.close_failed_runs(study)  # whoever summarises also closes runs that the study's failed trials left open
    if stopped == "interrupted":
        tracker.set_tags({"search.stopped": "interrupted"})
        tracker.end("KILLED")
        print(f"interrupted: {counts}; run the same command again to continue study {study.study_name}")
    else:
        result.summary = summarize(study, base, tracker, options.out or default_best_path(base))
        tracker.set_tags({"search.stopped": stopped})
        tracker.end("FINISHED")
    return result
