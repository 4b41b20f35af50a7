"""MLflow: the only module that imports it. Runs are driven through MlflowClient, with no global active run."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mrsynth.paths import default_tracking_uri

PARAM_LIMIT = 250  # longer values go to the resolved-spec artifact instead of a param


def resolve_tracking_uri(uri: str | None = None) -> str:
    """--tracking-uri, then $MLFLOW_TRACKING_URI, else a SQLite file inside the project."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()


def _artifact_root(uri: str) -> str | None:
    """Artifacts of a SQLite store live in a folder beside the database file."""
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///"))
        return (db.parent / "artifacts").resolve().as_uri()
    return None


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def spec_params(resolved: Mapping[str, Any]) -> dict[str, str]:
    params = {}
    for key, value in flatten(resolved).items():
        text = value if isinstance(value, str) else json.dumps(value)
        if len(text) <= PARAM_LIMIT:
            params[key] = text
    return params


class Tracker:
    """One MLflow run: params, tags, metrics per step, artifacts, terminal status."""

    def __init__(self, uri: str | None = None):
        import mlflow
        from mlflow.tracking import MlflowClient

        self.uri = resolve_tracking_uri(uri)
        if self.uri.startswith("sqlite:///"):
            Path(self.uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self._mlflow = mlflow
        self.client = MlflowClient(tracking_uri=self.uri)
        self.run_id: str | None = None

    def experiment_id(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        try:
            return self.client.create_experiment(name, artifact_location=_artifact_root(self.uri))
        except self._mlflow.exceptions.MlflowException:  # another process (a search worker) created it since we looked
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def start(self, experiment: str, run_name: str, tags: Mapping[str, str] | None = None, parent_run_id: str | None = None) -> str:
        tags = dict(tags or {})
        if parent_run_id:
            tags["mlflow.parentRunId"] = parent_run_id
        run = self.client.create_run(self.experiment_id(experiment), run_name=run_name, tags=tags)
        self.run_id = run.info.run_id
        return self.run_id

    def reopen(self, run_id: str) -> str:
        self.client.update_run(run_id, status="RUNNING")
        self.run_id = run_id
        return run_id

    def status(self, run_id: str) -> str:
        return self.client.get_run(run_id).info.status

    def log_params(self, params: Mapping[str, str]) -> None:
        from mlflow.entities import Param

        existing = self.client.get_run(self.run_id).data.params
        fresh = [Param(k, v) for k, v in params.items() if k not in existing]
        for start in range(0, len(fresh), 100):
            self.client.log_batch(self.run_id, params=fresh[start : start + 100])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        import math
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items() if v is not None and math.isfinite(v)]
        if batch:
            self.client.log_batch(self.run_id, metrics=batch)

    def log_metrics_once(self, metrics: Mapping[str, float], step: int) -> None:
        """Log the metrics this run has no value for yet: a resumed run that already logged them before it was
        killed must not add a second point (resume is bit-identical, so the values would repeat)."""
        logged = self.client.get_run(self.run_id).data.metrics
        self.log_metrics({k: v for k, v in metrics.items() if k not in logged}, step)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        if Path(path).is_dir():
            self.client.log_artifacts(self.run_id, str(path), artifact_path)
        else:
            self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_json(self, data: Any, name: str) -> None:
        self.client.log_dict(self.run_id, data, name)

    def end(self, status: str) -> None:
        self.client.set_terminated(self.run_id, status=status)

    def artifact_uri(self) -> str:
        return self.client.get_run(self.run_id).info.artifact_uri

    def download(self, run_id: str, path: str, dst: Path) -> Path:
        return Path(self.client.download_artifacts(run_id, path, str(dst)))
