"""Search overheads on the demo data.

Run with `python benchmarks/bench_search.py [--trials N] [--epochs E] [--demo DIR] [--tiny]` (or `make bench`). Prints:
(a) per-trial time outside training, by phase, over a warm cache (resolve + validate, dataset from cache,
    QC filter, MLflow/registry logging, Optuna bookkeeping) next to training and test evaluation (goal < 1 s);
(b) trials per hour of one fixed small search (same seeded random sampler) without and with the median pruner.
Without --demo, a 4-subject 32x32x24 demo generated in a temp folder (the README's figures); --demo data/demo
searches the one `make demo` wrote. --tiny (CI): 2 trials of 1 epoch on the generated demo.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

SPACE = {"data.qc.min_mi": {"kind": "float", "low": 0.0, "high": 0.2},
         "loss.l1": {"kind": "float", "low": 10.0, "high": 200.0, "log": True},
         "masking.kind": {"kind": "categorical", "choices": ["none", "intersection"]}}


def bench_spec(demo: Path, name: str, epochs: int, trials: int, pruner: str, subjects: list[str] | None = None) -> dict:
    return {"name": name,
            "data": {"dataset": {"kind": "bids", "root": str(demo), "subjects": subjects}, "on_bad_subject": "skip",
                     "preprocess": {"skull_strip": {"kind": "provided"}, "registration": {"kind": "rigid"}},
                     "slicing": {"size": [32, 32]}},
            "masking": {"kind": "intersection", "apply_to": ["l1"]},
            "model": {"generator": {"kind": "unet", "depth": 3, "base_width": 8, "max_width": 32},
                      "discriminator": {"kind": "patchgan", "n_layers": 2, "base_width": 8}},
            "train": {"epochs": epochs, "decay_epochs": 1, "batch_size": 8, "sample_every": epochs, "device": "cpu"},
            "eval": {"every": 1, "save_predictions": False},
            "search": {"space": SPACE, "n_trials": trials, "seed": 1, "sampler": {"kind": "random", "n_startup_trials": 2},
                       "pruner": {"kind": pruner, "n_warmup_steps": 1}}}


class Timers:
    """Wraps module attributes so each call's duration is recorded under a phase name."""

    def __init__(self):
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self._undo: list[Callable[[], None]] = []

    def wrap(self, module, attr: str, phase: str, when: Callable[..., bool] = lambda *a, **k: True) -> None:
        original = getattr(module, attr)

        def timed(*args, **kwargs):
            if not when(*args, **kwargs):
                return original(*args, **kwargs)
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[phase].append(time.perf_counter() - started)

        setattr(module, attr, timed)
        self._undo.append(lambda: setattr(module, attr, original))

    def restore(self) -> None:
        for undo in reversed(self._undo):
            undo()


def instrument() -> Timers:
    import mrsynth.qc.report as report
    import mrsynth.search.objective as objective
    import mrsynth.train.evaluate as evaluate
    import mrsynth.train.loop as loop
    import mrsynth.train.runner as runner

    timers = Timers()
    timers.wrap(objective.Objective, "__call__", "trial (wall)")
    timers.wrap(objective, "trial_spec", "resolve + validate")
    timers.wrap(runner, "prepare_data", "dataset from cache")
    timers.wrap(runner, "qc_filtered_rows", "QC filter")
    timers.wrap(runner, "open_run", "MLflow run + registry record")
    timers.wrap(runner, "_log_setup", "log params/tags/QC table")
    timers.wrap(report, "write_report", "QC report figures")
    timers.wrap(evaluate, "sample_grid", "sample grids")
    timers.wrap(loop, "fit", "fit (train + val)")
    timers.wrap(evaluate, "evaluate", "test evaluation", when=lambda *a, **k: a[2:3] == ("test",))
    timers.wrap(runner, "_log_outputs", "log model + test outputs")
    return timers


TRAINING = ("fit (train + val)", "test evaluation")


def overhead_table(timers: Timers, trials: int) -> str:
    per_trial = {phase: sum(values) / trials for phase, values in timers.seconds.items()}
    per_trial["fit (train + val)"] -= per_trial.get("sample grids", 0.0)  # grids are logging, not training
    per_trial["log params/tags/QC table"] -= per_trial.get("QC report figures", 0.0)  # nested: count once
    named = sum(v for k, v in per_trial.items() if k != "trial (wall)")
    per_trial["Optuna + MLflow child tags (rest)"] = per_trial["trial (wall)"] - named
    lines = [f"{'phase':<38}{'s/trial':>9}"]
    for phase, value in per_trial.items():
        if phase != "trial (wall)":
            lines.append(f"{phase:<38}{value:9.3f}{'   (training)' if phase in TRAINING else ''}")
    outside = per_trial["trial (wall)"] - sum(per_trial.get(k, 0.0) for k in TRAINING)
    figures = per_trial.get("QC report figures", 0.0) + per_trial.get("sample grids", 0.0)
    lines += [f"{'trial wall time':<38}{per_trial['trial (wall)']:9.3f}",
              f"{'outside training (goal < 1 s)':<38}{outside:9.3f}",
              f"{'  of which matplotlib figures':<38}{figures:9.3f}"]
    return "\n".join(lines)


def run_quiet(spec: Path, **options):
    from mrsynth.search import SearchOptions, run_search

    with contextlib.redirect_stdout(io.StringIO()):
        return run_search(spec, SearchOptions(**options))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--demo", type=Path, default=None, help="a demo dataset (default: a generated 4-subject 32x32x24 one)")
    parser.add_argument("--tiny", action="store_true", help="2 trials of 1 epoch on a generated tiny demo: checks the benchmark runs (CI)")
    args = parser.parse_args()
    if args.tiny:
        args.trials, args.epochs, args.demo = 2, 1, None
    if args.demo is not None and not (args.demo / "ground_truth.json").is_file():
        parser.error(f"--demo {args.demo}: no demo dataset there (ground_truth.json missing)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for key, sub in (("MRSYNTH_REGISTRY", "registry"), ("MRSYNTH_CACHE", "cache"), ("MRSYNTH_RUNS", "runs")):
            os.environ[key] = str(tmp / sub)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
        demo = args.demo
        if demo is None:
            from mrsynth.demo import generate_demo

            demo = tmp / "demo"
            generate_demo(demo, subjects=4, seed=0, shape=(32, 32, 24))
        from mrsynth.data.prepare import prepare_data
        from mrsynth.spec.load import load_spec

        specs = {pruner: tmp / "experiments" / f"bench-{pruner}.json" for pruner in ("none", "median")}
        specs["none"].parent.mkdir(exist_ok=True)
        write = lambda pruner, subjects=None: specs[pruner].write_text(  # noqa: E731
            json.dumps(bench_spec(demo, f"bench-{pruner}", args.epochs, args.trials, pruner, subjects)))
        write("none")
        started = time.perf_counter()
        data = prepare_data(load_spec(specs["none"]), progress=False)
        print(f"demo {demo}; cache built in {time.perf_counter() - started:.1f} s (not counted below)")
        # A subject that fails preprocessing is not cached and would be retried by every trial: keep the good ones.
        kept = sorted(data.preprocess_keys)
        for pruner in specs:
            write(pruner, kept)
        if data.skipped:
            print(f"left out (failed preprocessing): {', '.join(data.skipped)}")

        timers = instrument()
        rates = {}
        for pruner, spec in specs.items():
            started = time.perf_counter()
            result = run_quiet(spec, storage=f"sqlite:///{tmp / 'optuna.db'}", out=tmp / f"{pruner}-best.json", prep_workers=1)
            rates[pruner] = (time.perf_counter() - started, result.tally)
            if pruner == "none":
                print(f"\n(a) per-trial time over a warm cache, {args.trials} trials of {args.epochs} epochs, means:")
                print(overhead_table(timers, args.trials))
        timers.restore()
        print(f"\n(b) the same {args.trials}-trial search (seeded random sampler), {args.epochs} epochs per trial:")
        print(f"{'pruner':<8}{'wall s':>9}{'complete':>10}{'pruned':>8}{'trials/hour':>13}")
        for pruner, (wall, counts) in rates.items():
            print(f"{pruner:<8}{wall:9.1f}{counts.complete:10d}{counts.pruned:8d}{3600 * counts.accounted / wall:13.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
