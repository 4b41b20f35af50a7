"""Run bookkeeping of every experiment kind: the MLflow run, the registry record and the run folder move together."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mrsynth import registry
from mrsynth.errors import MrsynthError
from mrsynth.paths import project_root, runs_dir
from mrsynth.provenance import code_version
from mrsynth.spec.load import LoadedSpec
from mrsynth.tracking import Tracker

LAST_CHECKPOINT = "last.pt"


@dataclass
class RunResult:
    run_id: str
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    tracking_uri: str = ""
    run_dir: Path | None = None
    reason: str | None = None


@dataclass
class Outcome:
    """What a run measured so far (filled while it works) and, once it ends, its result."""

    metrics: dict[str, float] = field(default_factory=dict)
    result: RunResult | None = None


def latest_unfinished(spec_hash: str) -> dict[str, Any] | None:
    candidates = [r for r in registry.iter_records() if r["spec_hash"] == spec_hash and r["status"] != "FINISHED"]
    return candidates[-1] if candidates else None


def spec_path(loaded: LoadedSpec) -> str:
    try:
        return str(loaded.path.relative_to(project_root()))
    except ValueError:
        return str(loaded.path)


class TrackedRun:
    """The bookkeeping of one run: MLflow, registry record and local folder move together (every experiment kind)."""

    def __init__(self, loaded: LoadedSpec, tracker: Tracker, record: dict[str, Any], run_dir: Path):
        self.loaded, self.tracker, self.record, self.run_dir = loaded, tracker, record, run_dir

    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    def save_record(self, **fields: Any) -> None:
        self.record.update(fields)
        registry.write_record(self.record)

    def finish(self, status: str, metrics: dict[str, float], reason: str | None = None) -> None:
        if reason:
            self.tracker.set_tags({"failure_reason": reason[:4000]})
        self.tracker.end(status)
        self.save_record(status=status, reason=reason, metrics=self.headline(metrics), ended_at=registry.now())

    def headline(self, metrics: dict[str, float]) -> dict[str, float]:
        """The metrics the registry record keeps: test, validation (of the selected checkpoint, `best_epoch`) and
        whether it beats the trivial baselines."""
        keep = ("test/", "val/", "baseline.", "best_epoch")
        return {k: metrics[k] for k in metrics if k.startswith(keep) or k == self.loaded.experiment.eval.select_by}

    def result(self, status: str, metrics: dict[str, float], reason: str | None = None) -> RunResult:
        return RunResult(self.record["run_id"], status, metrics, self.tracker.uri, self.run_dir, reason)

    @contextmanager
    def outcome(self, stopped: tuple[type[Exception], ...] = ()) -> Iterator[Outcome]:
        """Record how the body ends: FINISHED, KILLED (interrupted, or one of `stopped`: re-raised) or FAILED.

        A MrsynthError is the user's to fix: it becomes a FAILED `outcome.result` and goes no further; any
        other failure is recorded, then re-raised. Metrics put in `outcome.metrics` before a failure are kept."""
        outcome = Outcome()
        try:
            yield outcome
            self.finish("FINISHED", outcome.metrics)
            outcome.result = self.result("FINISHED", outcome.metrics)
        except stopped as stop:
            self.finish("KILLED", outcome.metrics, f"stopped: {stop}")
            raise
        except KeyboardInterrupt:
            self.finish("KILLED", outcome.metrics, "interrupted")
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            self.finish("FAILED", outcome.metrics, reason)
            if not isinstance(exc, MrsynthError):
                raise
            outcome.result = self.result("FAILED", outcome.metrics, reason)


def open_run(loaded: LoadedSpec, data, tracker: Tracker, *, resume: bool, parent_run_id: str | None,
             tags: dict[str, str], run_class: type[TrackedRun] = TrackedRun) -> tuple[TrackedRun, dict[str, Any] | None]:
    """Start a run (or, with `resume`, reopen the latest unfinished one of this spec) and its last checkpoint.

    `data` is the run's prepared data (`cache_keys()`, `data_fingerprint`); `tags` go on a new MLflow run."""
    previous = latest_unfinished(loaded.spec_hash) if resume else None
    if resume and previous is None:
        raise MrsynthError(f"--resume: no unfinished run of {loaded.experiment.name} with spec hash "
                           f"{loaded.spec_hash[:12]} in the registry")
    if previous:
        tracker.reopen(previous["run_id"])
        record = previous
    else:
        record = _new_record(loaded, data, tracker, parent_run_id, tags)
    run = run_class(loaded, tracker, record, Path(record["run_dir"]))
    run.run_dir.mkdir(parents=True, exist_ok=True)
    run.save_record(status="RUNNING")
    return run, _last_checkpoint(run) if previous else None


def _new_record(loaded: LoadedSpec, data, tracker: Tracker, parent_run_id: str | None, tags: dict[str, str]) -> dict[str, Any]:
    exp = loaded.experiment
    tags = {"spec_name": exp.name, "spec_hash": loaded.spec_hash, **tags}
    run_id = tracker.start(exp.family or exp.name, exp.name, tags, parent_run_id)
    return registry.new_record(run_id, exp.name, loaded.spec_hash, exp.resolved(), spec_path=spec_path(loaded),
                               extends_chain=[str(p) for p in loaded.chain], cache_keys=data.cache_keys(),
                               data_fingerprint=data.data_fingerprint, code_version=code_version(),
                               mlflow={"tracking_uri": tracker.uri, "experiment": exp.family or exp.name, "run_id": run_id},
                               run_dir=str(runs_dir() / exp.name / run_id))


def _last_checkpoint(run: TrackedRun) -> dict[str, Any] | None:
    path = run.checkpoint_dir / LAST_CHECKPOINT
    if not path.is_file():
        return None
    from mrsynth.checkpoint import load_checkpoint  # torch: only when there is a checkpoint to read

    return load_checkpoint(path)
