"""Training-loop overheads on in-memory data with the 3T→7T demo networks (experiments/3t7t-masked.json).

Run with `python benchmarks/bench_train.py [--threads N] [--rounds R] [--tiny]` (or `make bench`). Prints:
(a) seconds per step of `fit` vs a bare PyTorch loop with the same networks, batch and data (goal <= 1.05x);
(b) the share of fit's step time spent building batches (goal <= 5%);
(c) MLflow logging (Tracker.log_metrics / log_artifact) per epoch vs epoch time (goal <= 2%);
(d) `mrsynth predict` wall time per volume: the demo volume, and a 240x240x155 BraTS volume when present.
Our loop and the bare loop alternate round by round so machine load hits both alike; medians are reported.
--tiny (CI): 32 slices (2 steps), one round, (d) on a 32x32x24 demo volume only, once.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F

import mrsynth.train.loop as loop
from mrsynth.checkpoint import save_checkpoint
from mrsynth.spec.experiment import Experiment
from mrsynth.spec.load import load_spec
from mrsynth.train.batches import SliceArrays
from mrsynth.train.build import build_networks

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "experiments" / "3t7t-masked.json"
BRATS = REPO.parent / "shared" / "data" / "mri" / "brats_gli_00001" / "BraTS-GLI-00001-000-t1n.nii.gz"
SLICES, SIZE = 256, 64  # about the demo's training set: 16 steps of 16 per epoch
TINY_SLICES, TINY_DEMO_SHAPE = 32, (32, 32, 24)


def one_epoch_spec() -> Experiment:
    exp = load_spec(SPEC).experiment
    return exp.model_copy(update={"train": exp.train.model_copy(update={"epochs": 1, "decay_epochs": 0, "device": "cpu"})})


def random_slices(n: int, seed: int = 0) -> SliceArrays:
    """Smooth random images in [-1, 1] and a disc-shaped brain mask: content does not change step time."""
    rng = np.random.default_rng(seed)
    noise = torch.from_numpy(rng.standard_normal((n, 2, SIZE // 8, SIZE // 8)).astype(np.float32))
    images = torch.tanh(F.interpolate(noise, size=(SIZE, SIZE), mode="bilinear")).numpy()
    yy, xx = np.mgrid[:SIZE, :SIZE]
    disc = ((yy - SIZE / 2) ** 2 + (xx - SIZE / 2) ** 2 < (0.4 * SIZE) ** 2).astype(np.uint8)
    masks = np.broadcast_to(disc, (n, 3, SIZE, SIZE)).copy()
    return SliceArrays(images[:, 0].copy(), images[:, 1].copy(), masks, np.arange(n))


class TimedSet:
    """Wraps the training set fit is given: records time inside next() (waiting for data) and the whole step loop.

    Wall and CPU seconds both: on a shared machine the wall clock also counts other people's work."""

    def __init__(self, data: SliceArrays):
        self.data = data
        self.waiting = self.span = self.cpu_span = 0.0
        self.steps = 0

    def __len__(self) -> int:
        return len(self.data)

    def epoch_batches(self, *args, **kwargs):
        batches = self.data.epoch_batches(*args, **kwargs)
        start, cpu = time.perf_counter(), time.process_time()
        while True:
            before = time.process_time()
            try:
                batch = next(batches)
            except StopIteration:
                break
            self.waiting += time.process_time() - before
            self.steps += 1
            yield batch
        self.span += time.perf_counter() - start
        self.cpu_span += time.process_time() - cpu


def fit_epoch(exp: Experiment, nets, data: SliceArrays, ckpt_dir: Path, hooks=None) -> tuple[float, TimedSet]:
    """One epoch of the real loop (validation stubbed out); returns (epoch seconds, batch timings)."""
    timed = TimedSet(data)
    preds = np.zeros((4, SIZE, SIZE), np.float32)
    start = time.perf_counter()
    loop.fit(exp, nets, timed, lambda: ({"val/ssim_brain": 0.5}, preds), torch.device("cpu"), ckpt_dir=ckpt_dir,
             hooks=hooks, progress=False)
    return time.perf_counter() - start, timed


def bare_epoch(exp: Experiment, nets, data: SliceArrays, opt_g, opt_d, epoch: int) -> tuple[float, float, int]:
    """The same pix2pix step written plainly: tensors in memory, index, forward, two Adam steps. (wall s, cpu s, steps)."""
    source, target = torch.from_numpy(data.source)[:, None], torch.from_numpy(data.target)[:, None]
    mask = torch.from_numpy(data.masks[:, 2:3]).float()
    g, d, b = nets.generator, nets.discriminator, exp.train.batch_size
    order = torch.randperm(len(source), generator=torch.Generator().manual_seed(epoch))
    steps = 0
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(order) - b + 1, b):
        idx = order[i : i + b]
        src, tgt, m = source[idx], target[idx], mask[idx]
        fake = g(src)
        opt_d.zero_grad(set_to_none=True)
        real_logits, fake_logits = d(torch.cat([src, tgt], 1)), d(torch.cat([src, fake.detach()], 1))
        d_loss = 0.5 * (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                        + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        logits = d(torch.cat([src, fake], 1))
        l1 = ((fake - tgt).abs() * m).sum() / m.sum().clamp_min(1)
        g_loss = exp.loss.l1 * l1 + exp.loss.adversarial * F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        g_loss.backward()
        opt_g.step()
        steps += 1
    return time.perf_counter() - start, time.process_time() - cpu, steps


def bench_loop(exp: Experiment, data: SliceArrays, rounds: int, tmp: Path) -> dict[str, list[float]]:
    torch.manual_seed(0)
    ours, bare = build_networks(exp), build_networks(exp)
    bare.generator.load_state_dict(copy.deepcopy(ours.generator.state_dict()))
    bare.discriminator.load_state_dict(copy.deepcopy(ours.discriminator.state_dict()))
    betas = tuple(exp.train.betas)
    opt_g = torch.optim.Adam(bare.generator.parameters(), lr=exp.train.lr_g, betas=betas)
    opt_d = torch.optim.Adam(bare.discriminator.parameters(), lr=exp.train.lr_d, betas=betas)
    out: dict[str, list[float]] = {k: [] for k in ("ours", "bare", "ours_cpu", "bare_cpu", "epoch", "waiting", "checkpoint")}
    fit_epoch(exp, ours, data, tmp / "warm")  # warm-up: allocator, first-call costs
    bare_epoch(exp, bare, data, opt_g, opt_d, 0)
    for r in range(rounds):
        epoch_seconds, timed = fit_epoch(exp, ours, data, tmp / f"ckpt{r}")
        seconds, cpu, steps = bare_epoch(exp, bare, data, opt_g, opt_d, r + 1)
        out["ours"].append(timed.span / timed.steps)
        out["ours_cpu"].append(timed.cpu_span / timed.steps)
        out["epoch"].append(epoch_seconds / timed.steps)
        out["waiting"].append(timed.waiting / timed.cpu_span)
        out["bare"].append(seconds / steps)
        out["bare_cpu"].append(cpu / steps)
    for _ in range(rounds):  # the per-epoch checkpoint on its own (fit writes one every epoch)
        start = time.perf_counter()
        save_checkpoint(tmp / "alone.pt", {"g": ours.generator.state_dict(), "d": ours.discriminator.state_dict(),
                                           "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict()})
        out["checkpoint"].append(time.perf_counter() - start)
    return out


def bench_tracking(exp: Experiment, data: SliceArrays, rounds: int, tmp: Path) -> dict[str, list[float]]:
    """fit with the run's hooks: metrics logged every epoch and a sample grid PNG as artifact every epoch (worst case)."""
    from mrsynth.tracking import Tracker
    from mrsynth.train.evaluate import sample_grid

    tracker = Tracker(f"sqlite:///{tmp / 'mlflow.db'}")
    tracker.start("bench", "bench-train")
    grid_start = time.perf_counter()
    grid = sample_grid(np.zeros((8, SIZE, SIZE), np.float32), data, tmp / "grid.png", title="bench")
    grid_seconds = time.perf_counter() - grid_start
    tracker.log_metrics({"warm": 1.0}, step=0)
    tracker.log_artifact(grid, "warm")
    spent = {"metrics": [], "artifact": [], "epoch": [], "grid": [grid_seconds]}

    def on_epoch(epoch, metrics):
        start = time.perf_counter()
        tracker.log_metrics(metrics, step=epoch)
        spent["metrics"].append(time.perf_counter() - start)

    def on_validated(epoch, metrics, preds):
        start = time.perf_counter()
        tracker.log_artifact(grid, "samples")
        spent["artifact"].append(time.perf_counter() - start)

    nets = build_networks(exp)
    for r in range(rounds):
        seconds, _ = fit_epoch(exp, nets, data, tmp / f"track{r}", loop.Hooks(on_epoch, on_validated))
        spent["epoch"].append(seconds)
    tracker.end("FINISHED")
    return spent


def model_file(exp: Experiment, path: Path, size: tuple[int, int] | None = None) -> Path:
    """An mrsynth-model-1 file with untrained weights (predict time does not depend on them)."""
    resolved = exp.resolved()
    if size is not None:
        resolved["data"]["slicing"]["size"] = list(size)
        exp = Experiment.model_validate(resolved)
    import json

    save_checkpoint(path, {"generator": build_networks(exp).generator.state_dict(), "resolved_spec": json.dumps(resolved),
                           "spec_hash": "bench", "target_scales": {"bench": [0.0, 1000.0]}, "format": "mrsynth-model-1",
                           "torch": str(torch.__version__)})
    return path


def time_predict(model: Path, source: Path, mask: Path, out: Path, repeat: int) -> list[float]:
    """Wall seconds of the real command, start-up included (the child inherits OMP_NUM_THREADS from main)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mrsynth", "predict", str(model), str(source), str(out), "--mask", str(mask)],
                       check=True, stdout=subprocess.DEVNULL, cwd=REPO)
        times.append(time.perf_counter() - start)
    return times


def predict_phases(model: Path, source: Path, mask: Path) -> dict[str, float]:
    """In-process seconds of predict's two heavy phases: preprocessing (load, mask, N4, normalise) and the network."""
    from mrsynth.inference.volume import predict_normalised
    from mrsynth.predict import load_model
    from mrsynth.preprocess.pipeline import prepare_single

    exp, generator, _ = load_model(model)
    start = time.perf_counter()
    array, *_ = prepare_single("input", source, mask, exp.data.preprocess, role="source")
    middle = time.perf_counter()
    predict_normalised(exp, generator, array)
    return {"preprocess": middle - start, "network": time.perf_counter() - middle}


def predict_inputs(tmp: Path, tiny: bool) -> list[tuple[str, Path, Path, tuple[int, int] | None]]:
    """(label, volume, mask, slicing size of the model) for the demo volume and, when present (not --tiny), BraTS 240x240x155."""
    from mrsynth.demo import DEFAULT_SHAPE, generate_demo

    generate_demo(tmp / "demo", subjects=1, seed=0, shape=TINY_DEMO_SHAPE if tiny else DEFAULT_SHAPE)
    source = next((tmp / "demo").glob("sub-*/ses-3T/anat/*_T1w.nii.gz"))
    mask = next((tmp / "demo" / "derivatives" / "masks").glob("sub-*/ses-3T/anat/*_mask.nii.gz"))
    inputs = [(f"demo {nib.load(source).shape}, model 64x64", source, mask, None)]
    if BRATS.exists() and not tiny:
        image = nib.load(BRATS)
        brain = tmp / "brats_mask.nii.gz"
        nib.save(nib.Nifti1Image((np.asarray(image.dataobj) > 0).astype(np.uint8), image.affine), brain)
        inputs.append(("BraTS (240, 240, 155), model 256x256", BRATS, brain, (256, 256)))
    return inputs


def med(values: list[float]) -> float:
    return statistics.median(values)


def ratio(a: list[float], b: list[float]) -> float:
    return med([x / y for x, y in zip(a, b, strict=True)])


def report_loop(t: dict[str, list[float]]) -> None:
    print(f"(a) s/step   wall: bare {med(t['bare']):.4f}  fit {med(t['ours']):.4f}  -> {ratio(t['ours'], t['bare']):.3f}x   "
          f"cpu: bare {med(t['bare_cpu']):.4f}  fit {med(t['ours_cpu']):.4f}  -> {ratio(t['ours_cpu'], t['bare_cpu']):.3f}x"
          "   (goal <= 1.05x)")
    print(f"    fit's whole epoch per step (with validation stub and checkpoint) {med(t['epoch']):.4f} s wall "
          f"({ratio(t['epoch'], t['bare']):.3f}x bare); the checkpoint alone {med(t['checkpoint']):.3f} s per epoch")
    print(f"(b) building batches: {100 * med(t['waiting']):.2f}% of fit's step cpu time (goal <= 5%)")


def report_tracking(s: dict[str, list[float]]) -> None:
    epoch, logging = med(s["epoch"]), med(s["metrics"]) + med(s["artifact"])
    print(f"(c) mlflow per epoch: log_metrics {1000 * med(s['metrics']):.1f} ms + log_artifact {1000 * med(s['artifact']):.1f} ms "
          f"of a {epoch:.2f} s epoch -> {100 * logging / epoch:.2f}% (goal <= 2%); rendering the grid (not mlflow) "
          f"{s['grid'][0]:.2f} s, every train.sample_every epochs")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steadiest on a shared 2-core machine)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-predict", action="store_true", help="skip (d)")
    parser.add_argument("--tiny", action="store_true", help="2 steps, 1 round, a tiny demo volume: checks the benchmark runs (CI)")
    args = parser.parse_args()
    if args.tiny:
        args.rounds = 1
    slices = TINY_SLICES if args.tiny else SLICES
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # for the predict subprocesses
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True, warn_only=True)  # as run_experiment sets it
    exp, data = one_epoch_spec(), random_slices(slices)
    print(f"3t7t-masked networks, {slices} in-memory {SIZE}x{SIZE} slices, batch {exp.train.batch_size}, "
          f"{args.threads} torch thread(s), {args.rounds} rounds, medians; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        report_loop(bench_loop(exp, data, args.rounds, tmp))
        report_tracking(bench_tracking(exp, data, args.rounds, tmp))
        for label, source, mask, size in [] if args.no_predict else predict_inputs(tmp, args.tiny):
            model = model_file(exp, tmp / "model.pt", size)
            repeat = 1 if args.tiny else 3 if size is None else 2
            times = time_predict(model, source, mask, tmp / "pred.nii.gz", repeat)
            phases = predict_phases(model, source, mask)
            print(f"(d) mrsynth predict, {label}: {med(times):.2f} s wall median (min {min(times):.2f}); in process: "
                  f"preprocess {phases['preprocess']:.2f} s, network {phases['network']:.2f} s")
    print(f"load average at the end {os.getloadavg()[0]:.1f} (on {os.cpu_count()} cores: above that, wall times include waiting for a core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
