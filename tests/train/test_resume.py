"""A run killed with SIGKILL mid-training and resumed ends exactly like an uninterrupted run (CPU)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from mlflow.tracking import MlflowClient

from mrsynth.checkpoint import load_checkpoint
from mrsynth.registry import iter_records
from mrsynth.spec.load import load_spec
from mrsynth.tracking import resolve_tracking_uri
from mrsynth.train.runner import run_experiment
from mrsynth_testing import tiny_spec_data

EPOCHS = 4


def _weights(run_dir):
    return load_checkpoint(run_dir / "outputs" / "model.pt")["generator"]


def _kill_after_first_epoch(cmd, env, runs) -> int:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list(runs.glob("*/*/checkpoints/last.pt")):
        if proc.poll() is not None:
            raise AssertionError(f"run ended before its first checkpoint (exit {proc.returncode})")
        time.sleep(0.01)
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    (last,) = runs.glob("*/*/checkpoints/last.pt")
    return load_checkpoint(last)["epoch"]


@pytest.mark.slow
def test_sigkill_then_resume_equals_uninterrupted(tiny_demo, write_spec, run_env, tmp_path):
    data = tiny_spec_data(tiny_demo, "resume", train={"epochs": EPOCHS, "decay_epochs": 2, "batch_size": 2})
    path = write_spec("resume", data)
    reference = run_experiment(load_spec(path), progress=False, workers=1)
    assert reference.status == "FINISHED"

    env = {**os.environ, "MRSYNTH_REGISTRY": str(tmp_path / "registry2"), "MRSYNTH_RUNS": str(tmp_path / "runs2")}
    cmd = [sys.executable, "-m", "mrsynth", "run", str(path)]
    done_epochs = _kill_after_first_epoch(cmd, env, tmp_path / "runs2")
    assert 1 <= done_epochs < EPOCHS
    (killed,) = [r for r in iter_records(tmp_path / "registry2")]
    assert killed["status"] == "RUNNING"  # SIGKILL leaves no chance to say otherwise

    resumed = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    (record,) = [r for r in iter_records(tmp_path / "registry2")]
    assert record["run_id"] == killed["run_id"] and record["status"] == "FINISHED"

    expected, got = _weights(reference.run_dir), _weights(tmp_path / "runs2" / "resume" / record["run_id"])
    assert expected.keys() == got.keys()
    for name in expected:
        assert torch.equal(expected[name], got[name]), name
    for key, value in reference.metrics.items():
        if key.startswith("test/"):
            assert record["metrics"][key] == value, key
    run = MlflowClient(resolve_tracking_uri()).get_run(record["run_id"])
    assert run.info.status == "FINISHED"


def test_resume_without_unfinished_run_is_a_clean_error(tiny_demo, write_spec, run_env, capsys):
    from mrsynth.cli import main

    path = write_spec("fresh", tiny_spec_data(tiny_demo, "fresh"))
    assert main(["run", str(path), "--resume"]) == 1
    assert "no unfinished run of fresh" in capsys.readouterr().err
