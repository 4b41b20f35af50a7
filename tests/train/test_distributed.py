"""DistributedDataParallel on CPU (gloo, 2 processes) follows the single-process loss curve with the doubled batch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from mrsynth.spec.experiment import Experiment
from mrsynth.train.batches import SliceArrays
from mrsynth.train.build import build_networks
from mrsynth.train.distributed import DistContext, init, shutdown
from mrsynth.train.loop import fit
from mrsynth_testing import tiny_spec_data

BATCH = 4
SPEC = {"name": "ddp", "masking": {"kind": "none"}, "data": {"slicing": {"size": [16, 16]}},
        "model": {"generator": {"kind": "unet", "depth": 2, "base_width": 4, "max_width": 8, "norm": "instance"},
                  "discriminator": {"kind": "patchgan", "n_layers": 1, "base_width": 4, "norm": "instance"}},
        "train": {"epochs": 3, "decay_epochs": 1, "seed": 5, "flips": True}}


def slices() -> SliceArrays:
    rng = np.random.default_rng(0)
    source = np.tanh(rng.normal(size=(32, 16, 16))).astype(np.float32)
    target = np.clip(0.8 * source + 0.1 * rng.normal(size=source.shape), -1, 1).astype(np.float32)
    masks = np.ones((32, 3, 16, 16), dtype=np.uint8)
    return SliceArrays(source, target, masks, np.arange(32))


def train(batch_size: int, ctx: DistContext, out_dir: str) -> list[dict[str, float]]:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    exp = Experiment.model_validate({**SPEC, "train": {**SPEC["train"], "batch_size": batch_size}})
    nets = build_networks(exp)
    result = fit(exp, nets, slices(), lambda: ({}, None), torch.device("cpu"), ckpt_dir=__import__("pathlib").Path(out_dir),
                 progress=False, dist=ctx)
    return result.history


def _rank(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    ctx = DistContext(rank, world, rank)
    init(ctx)
    try:
        history = train(BATCH, ctx, out_dir)
        if rank == 0:
            with open(os.path.join(out_dir, "history.json"), "w") as handle:
                json.dump(history, handle)
    finally:
        shutdown(ctx)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_gloo_processes_match_one_process_with_double_batch(tmp_path):
    single = train(2 * BATCH, DistContext(), str(tmp_path / "single"))
    mp.spawn(_rank, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    double = json.loads((tmp_path / "history.json").read_text())
    for key in ("train/g_l1", "train/g_adversarial", "train/d_loss"):
        got = [epoch[key] for epoch in double]
        want = [epoch[key] for epoch in single]
        np.testing.assert_allclose(got, want, rtol=2e-3, err_msg=key)
    assert (tmp_path / "last.pt").is_file()  # rank 0 checkpoints


@pytest.mark.slow
def test_mrsynth_run_nproc_2_end_to_end(tiny_demo, write_spec, run_env):
    from mlflow.tracking import MlflowClient

    from mrsynth.registry import iter_records
    from mrsynth.tracking import resolve_tracking_uri

    path = write_spec("ddp-run", tiny_spec_data(tiny_demo, "ddp-run", train={"batch_size": 4}))
    done = subprocess.run([sys.executable, "-m", "mrsynth", "run", str(path), "--nproc", "2"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    records = list(iter_records())
    assert len(records) == 1 and records[0]["status"] == "FINISHED"  # only rank 0 tracks
    run = MlflowClient(resolve_tracking_uri()).get_run(records[0]["run_id"])
    assert run.info.status == "FINISHED" and "test/psnr_brain" in run.data.metrics
