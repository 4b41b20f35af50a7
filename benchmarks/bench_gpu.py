"""GPU training throughput at the papers' widths: steps/s, peak memory, data wait, `fit` vs a bare PyTorch loop.

On a GPU machine, from a plain checkout (no venv, no network): `PYTHONPATH=src python3 benchmarks/bench_gpu.py`
(or `make bench-gpu`). Needs torch with CUDA, numpy, pandas and tqdm; pydantic, when that python lacks it, is
installed from the wheels `make gpu-wheels` put in .gpu-wheels/ (pip --no-index --find-links, into
.gpu-wheels/site, which this script puts first on sys.path: the machine's python is left as it was).
Cases (gpu_cases.PAPER): pix2pix (U-Net 256, 64 base filters, dropout 0.5; 3-layer PatchGAN) at 256² batch 16
and 512² batch 4, Nie et al.'s 3D dilated FCN with its CNN discriminator on 32³ patches batch 16, NEC's
ResNet-9 with a 2-scale PatchGAN at 256² batch 4, CycleGAN's two ResNet-9 and PatchGANs at 256² batch 1; each
with AMP on and off. For each: steps per second of `fit` (mrsynth.train.loop, one epoch, validation stubbed)
and of a bare loop on the same networks and batches, their ratio (goal <= 1.03), peak GPU memory, and the
share of the timed span the loop spent waiting for the next batch (building, pinning). Timing starts after
--warmup steps, between CUDA synchronisations; fit's end-of-epoch checkpoint is timed apart. Deterministic
algorithms as `mrsynth run` sets them. One table on stdout, the same as CSV (--csv).
Without CUDA it prints a skip line and exits 0; --tiny (CI) runs every case at CPU size, whatever the device:
the code path, not a measurement. Sized for the issue's 5 minutes on one GPU; not yet run on one.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WHEELS = REPO / ".gpu-wheels"
SITE = WHEELS / "site"
COLUMNS = ["case", "size", "batch", "amp", "fit_steps_per_s", "bare_steps_per_s", "fit_over_bare", "fit_peak_gib",
           "bare_peak_gib", "fit_data_wait_pct", "bare_data_wait_pct", "fit_checkpoint_s"]


def pydantic_from_wheels() -> bool:
    """Make `import pydantic` work: as installed, else from .gpu-wheels/ (installed into SITE once). False: no wheels."""
    try:
        import pydantic  # noqa: F401

        return True
    except ImportError:
        pass
    if not any(WHEELS.glob("pydantic-*.whl")):
        return False
    if not SITE.is_dir():
        print(f"bench_gpu: installing pydantic from {WHEELS} into {SITE}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(WHEELS),
                        "--target", str(SITE), "pydantic"], check=True)
    sys.path.insert(0, str(SITE))
    importlib.invalidate_caches()
    import pydantic  # noqa: F401

    return True


class TimedBatches:
    """Wraps a training set: after `warmup` batches, times the loop between two CUDA synchronisations and the
    time spent inside next() (waiting for data)."""

    def __init__(self, data, warmup: int, sync):
        self.data, self.warmup, self.sync = data, warmup, sync
        self.waiting = self.start = self.end = 0.0
        self.steps = 0

    def __len__(self) -> int:
        return len(self.data)

    def epoch_batches(self, *args, **kwargs):
        batches = iter(self.data.epoch_batches(*args, **kwargs))
        index = 0
        while True:
            if index == self.warmup:
                self.sync()
                self.start = time.perf_counter()
            before = time.perf_counter()
            batch = next(batches, None)
            if batch is None:
                break
            if index >= self.warmup:
                self.waiting += time.perf_counter() - before
                self.steps += 1
            index += 1
            yield batch
        self.sync()
        self.end = time.perf_counter()

    def rate(self) -> tuple[float, float]:
        """(steps per second, % of the span waiting for data)."""
        span = self.end - self.start
        return self.steps / span, 100 * self.waiting / span


def peak_gib(device) -> float:
    import torch

    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")


def run_fit(exp, case, steps: int, warmup: int, device, folder: Path) -> tuple[float, float, float, float]:
    """(steps/s, data wait %, peak GiB, end-of-epoch seconds) of `fit` on fresh networks."""
    import numpy as np
    import torch
    from gpu_cases import training_set

    from mrsynth.train.build import build_networks
    from mrsynth.train.loop import fit

    torch.manual_seed(0)
    nets, timed = build_networks(exp), TimedBatches(training_set(case, warmup + steps), warmup, lambda: sync(device))
    reset(device)
    fit(exp, nets, timed, lambda: ({}, np.zeros((0, *case.size), np.float32)), device, ckpt_dir=folder, progress=False)
    ended = time.perf_counter() - timed.end
    return (*timed.rate(), peak_gib(device), ended)


def run_bare(exp, case, steps: int, warmup: int, device) -> tuple[float, float, float]:
    """(steps/s, data wait %, peak GiB) of the bare loop on fresh networks, the same weights and batches."""
    import torch
    from gpu_cases import bare_step, training_set

    from mrsynth.train.build import build_networks

    torch.manual_seed(0)
    nets, timed = build_networks(exp), TimedBatches(training_set(case, warmup + steps), warmup, lambda: sync(device))
    reset(device)
    step = bare_step(exp, nets, device)
    nets.generator.train()
    nets.discriminator.train()
    train = exp.train
    for batch in timed.epoch_batches(train.batch_size, train.seed, 0, train.flips, device.type == "cuda"):
        step(batch)
    return (*timed.rate(), peak_gib(device))


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset(device) -> None:
    import gc

    import torch

    if device.type == "cuda":  # the last run's networks and optimiser state leave the GPU
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def measure(case, amp: bool, steps: int, warmup: int, device, folder: Path) -> dict:
    from gpu_cases import experiment_data

    from mrsynth.spec.experiment import Experiment

    exp = Experiment.model_validate(experiment_data(case, amp, device))
    if not amp:  # the bare loop first every other run: neither always meets the warmer caches
        bare_rate, bare_wait, bare_peak = run_bare(exp, case, steps, warmup, device)
    fit_rate, fit_wait, fit_peak, checkpoint = run_fit(exp, case, steps, warmup, device, folder)
    if amp:
        bare_rate, bare_wait, bare_peak = run_bare(exp, case, steps, warmup, device)
    return dict(zip(COLUMNS, [case.name, "x".join(map(str, case.size)), case.batch, "on" if amp else "off", fit_rate, bare_rate,
                              bare_rate / fit_rate, fit_peak, bare_peak, fit_wait, bare_wait, checkpoint], strict=True))


def print_table(rows: list[dict]) -> None:
    print(f"{'case':<31}{'size':>10}{'batch':>6}{'amp':>5}{'fit it/s':>10}{'bare it/s':>10}{'fit/bare':>9}"
          f"{'peak GiB':>9}{'wait %':>7}{'ckpt s':>7}")
    for r in rows:
        print(f"{r['case']:<31}{r['size']:>10}{r['batch']:>6}{r['amp']:>5}{r['fit_steps_per_s']:>10.2f}"
              f"{r['bare_steps_per_s']:>10.2f}{r['fit_over_bare']:>9.3f}{r['fit_peak_gib']:>9.2f}"
              f"{r['fit_data_wait_pct']:>7.1f}{r['fit_checkpoint_s']:>7.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="every case at CPU size on whatever device: checks the code path (CI)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per run (default 30; 2 with --tiny)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 5; 1 with --tiny)")
    parser.add_argument("--csv", type=Path, default=None, help="where the table goes as CSV (default reports/bench_gpu[-tiny].csv)")
    args = parser.parse_args()
    args.steps = args.steps or (2 if args.tiny else 30)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.tiny else 5)
    have_pydantic = pydantic_from_wheels()
    import torch

    if not torch.cuda.is_available() and not args.tiny:
        print("bench_gpu: skipped, no CUDA device (run it on a GPU machine: README, GPU benchmark)")
        return 0
    if not have_pydantic:
        sys.exit("bench_gpu: this python has no pydantic and .gpu-wheels/ holds no wheel of it: run `make gpu-wheels` where "
                 "there is network, bring .gpu-wheels/ along with the checkout, and run this again")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gpu_cases import PAPER, tiny

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(1)  # tiny networks: a second thread only spins, on a shared machine
    torch.use_deterministic_algorithms(True, warn_only=True)  # as `mrsynth run` trains
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {name}; {args.warmup} warm-up + {args.steps} timed steps per run; "
          f"load average {os.getloadavg()[0]:.1f}{'; --tiny: not a measurement' if args.tiny else ''}", flush=True)
    started, rows = time.perf_counter(), []
    # --tiny: each network family once, AMP on only (on a CPU, fit and the bare loop both leave it off)
    cases, amps = ([tiny(c) for c in PAPER if c.size != (512, 512)], (True,)) if args.tiny else (PAPER, (True, False))
    with tempfile.TemporaryDirectory() as folder:
        if device.type == "cuda":  # CUDA context, cuBLAS and cuDNN handles: before the first timed run, not in it
            measure(cases[-1], True, 2, 1, device, Path(folder))
        for case in cases:
            for amp in amps:
                rows.append(measure(case, amp, args.steps, args.warmup, device, Path(folder)))
                print(f"  {case.name} {rows[-1]['size']} amp {rows[-1]['amp']}: done at {time.perf_counter() - started:.0f} s", flush=True)
    print_table(rows)
    out = args.csv or REPO / "reports" / f"bench_gpu{'-tiny' if args.tiny else ''}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out}; {time.perf_counter() - started:.0f} s in all (goal <= 300 s on one GPU; fit/bare goal <= 1.03)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
