"""`mrsynth search`: Optuna over the spec's `search` section, every trial a tracked run."""

from __future__ import annotations

import argparse
from pathlib import Path

from mrsynth.cli.spec_cmds import add_set_option
from mrsynth.cli.train_cmds import add_tracking_option

DESCRIPTION = """\
Search the spec's `search` space. Each trial is the spec with the sampled values, validated (an invalid
combination is a failed trial with its reason), trained and evaluated like `mrsynth run`, and logged as a
nested MLflow run under one parent run per study. Cached preprocessing and slices are reused by every
trial that changes only QC thresholds, masking or loss weights.

At the end: a table of the best trials, figures on the parent run, and SPEC-best.json next to the spec
(`extends` the spec with the best values; `search` is null). Ctrl-C fails the running trial and queues
it again; re-running the same command continues the study.

--workers N: a worker that dies mid-trial is noticed by heartbeat and its trial re-run by another; the exit
status follows the study (0 when every trial it left was re-run), and the output names the worker that died.

Many machines: give every worker the same --storage postgresql://USER@HOST/DB and --study NAME.
"""


def register(commands) -> None:
    p = commands.add_parser("search", help="hyperparameter search over the spec's `search` section (Optuna)",
                            description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", type=Path, metavar="SPEC")
    p.add_argument("--trials", type=int, default=None, metavar="N", help="trials the study should reach over all workers (default: search.n_trials)")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="Optuna storage (default: $MRSYNTH_SEARCH_STORAGE, else sqlite:///optuna.db at the project root)")
    p.add_argument("--study", default=None, metavar="NAME", help="study name (default: the spec's name); an existing study is continued")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes on this machine (default: 1)")
    add_tracking_option(p)
    p.add_argument("--out", type=Path, default=None, metavar="PATH", help="where to write the best spec (default: SPEC's folder/NAME-best.json)")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="seconds after which a worker starts no new trial (default: search.timeout)")
    p.add_argument("--heartbeat", type=int, default=10, metavar="S", help="seconds between heartbeats of a running trial (default: 10)")
    p.add_argument("--grace", type=int, default=None, metavar="S",
                   help="seconds without a heartbeat before a trial is failed and re-queued (default: 2 x heartbeat)")
    p.add_argument("--progress", action="store_true", help="show per-epoch progress bars of each trial")
    add_set_option(p)
    p.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--no-summary", dest="summarize", action="store_false", help=argparse.SUPPRESS)
    p.set_defaults(handler=search)


def search(args: argparse.Namespace) -> int:
    from mrsynth.errors import MrsynthError
    from mrsynth.search import SearchOptions, run_search

    if args.trials is not None and args.trials < 1:
        raise MrsynthError(f"--trials must be >= 1 (got {args.trials})")
    if args.workers < 1:
        raise MrsynthError(f"--workers must be >= 1 (got {args.workers})")
    options = SearchOptions(trials=args.trials, storage=args.storage, study=args.study, workers=args.workers,
                            tracking_uri=args.tracking_uri, out=args.out, overrides=tuple(args.overrides), timeout=args.timeout,
                            heartbeat=args.heartbeat, grace=args.grace, worker_index=args.worker_index,
                            summarize=args.summarize, progress=args.progress)
    result = run_search(args.spec, options)
    if result.stopped == "interrupted":
        return 130
    if not args.summarize:  # a worker started by --workers: the parent process reports
        return 0 if result.stopped in ("done", "timeout") else 1
    print(f"  study {result.study} in {result.storage}; MLflow parent run {result.parent_run_id}")
    if result.summary is not None and result.summary.best_spec is None:
        print("  no trial completed: no best spec written")
        return 1
    return 0 if result.stopped in ("done", "timeout") else 1
