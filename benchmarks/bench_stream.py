"""Training batches streamed from the per-subject slices cache, against the old copy of the split into memory.

Run with `python benchmarks/bench_stream.py [--slices N] [--subjects N] [--rounds R] [--threads N] [--tiny]`.
The slices cache is written directly (preprocessing is not what is measured: tiny NIfTI stand-ins give
the subjects their cache keys, and 256×256 slices go straight into their per-subject entries). Prints:
(a) peak RSS (ru_maxrss) of `mrsynth run` (one epoch, a small U-Net), and its peak up to the first
    validation, with 1× and 4× the training subjects, batches streamed (goal: ≤ 10 % growth), and the
    same two runs with the training split copied into memory first (the path before streaming);
(b) wall and CPU seconds per step of `fit` with the seed 3T→7T networks at 256², streamed vs in
    memory, in ABBA order round by round so machine load hits both alike, medians (goal ≤ 1.05×);
(c) the share of the streamed step loop spent waiting for the next batch (goal ≤ 3 %).
--tiny (CI): 32×32 slices, 3 per subject, the two streamed runs only, one round of 2 steps of 4.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from mrsynth.cache import CacheStore
from mrsynth.data.layouts import subject_table
from mrsynth.data.preprocessed import fingerprints, load_subject, preprocess_key
from mrsynth.data.slices import STAGE, slices_key, write_subject_entry
from mrsynth.spec.load import load_spec
from mrsynth.spec.qc_columns import QC_METRICS

REPO = Path(__file__).resolve().parents[1]
SMALL_NETS = {"generator": {"kind": "unet", "depth": 4, "base_width": 8, "max_width": 32},
              "discriminator": {"kind": "patchgan", "n_layers": 2, "base_width": 8}}
PASSING = {"dice": 1.0, "ncc": 0.9, "mi": 1.0, "edge_corr": 0.8, "brain_fraction": 0.5}  # every QC rule keeps the slice
CHILD_FLAG, IN_MEMORY_FLAG = "--run-child", "--in-memory"


def subject_names(train: int) -> tuple[list[str], str, str]:
    """(training subjects, validation subject, test subject) of a dataset with `train` training subjects."""
    return [f"{i:03d}" for i in range(train)], "val", "test"


def write_dataset(root: Path, subjects: list[str]) -> None:
    """A 4×4×4 NIfTI source and target per subject, distinct per subject: each gets its own cache keys."""
    for number, subject in enumerate(subjects):
        for session, scale in (("3T", 1.0), ("7T", 2.0)):
            folder = root / f"sub-{subject}" / f"ses-{session}" / "anat"
            folder.mkdir(parents=True, exist_ok=True)
            voxels = np.full((4, 4, 4), scale * (number + 1), dtype=np.float32)
            nib.save(nib.Nifti1Image(voxels, np.eye(4)), folder / f"sub-{subject}_ses-{session}_T1w.nii.gz")


def spec_data(root: Path, train: list[str], val: str, test: str, size: int, nets: dict) -> dict:
    return {
        "name": f"stream-{len(train)}",
        "data": {"dataset": {"kind": "bids", "root": str(root), "subjects": sorted([*train, val, test]),
                             "source": {"session": "3T", "suffix": "T1w"}, "target": {"session": "7T", "suffix": "T1w"}},
                 "split": {"val_subjects": [val], "test_subjects": [test]},
                 "preprocess": {"skull_strip": {"kind": "none"}, "registration": {"kind": "none"}},
                 "slicing": {"axis": 2, "size": [size, size]}},
        "masking": {"kind": "intersection", "apply_to": ["l1"]},
        "model": nets,
        "train": {"epochs": 1, "decay_epochs": 0, "batch_size": 16, "device": "cpu", "seed": 0},
        "eval": {"every": 1, "save_predictions": False},
    }


def synthetic_slices(n: int, size: int, seed: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Smooth random images in [-1, 1], a disc as every mask, and QC metrics every rule passes."""
    rng = np.random.default_rng(seed)
    coarse = rng.standard_normal((2, n, size // 16, size // 16)).astype(np.float32)
    images = np.tanh(np.repeat(np.repeat(coarse, 16, axis=2), 16, axis=3))
    yy, xx = np.mgrid[:size, :size]
    disc = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (0.4 * size) ** 2).astype(np.uint8)
    masks = np.broadcast_to(disc, (n, size, size))
    table = pd.DataFrame({"slice": np.arange(n), **{m.column: PASSING.get(m.column, 0.0) for m in QC_METRICS}})
    return table, {"source": images[0], "target": images[1], "source_mask": masks, "target_mask": masks,
                   "intersection": masks}


def fill_cache(store: CacheStore, spec_path: Path, per_subject: int) -> float:
    """Write the preprocess (facts only: a 2D run never reads the volumes) and slices entries of every
    subject of the spec; returns the bytes of slices written."""
    loaded = load_spec(spec_path)
    data = loaded.experiment.data
    for number, files in enumerate(subject_table(data.dataset, loaded.base_dir).subjects):
        key = preprocess_key(fingerprints(files, data.preprocess), data.preprocess)
        facts = {"subject": files.subject, "shape": [data.slicing.size[0], data.slicing.size[1], per_subject],
                 "affine": np.eye(4).tolist(), "source_scale": [0.0, 1.0], "target_scale": [0.0, 1.0], "files": {}}
        store.get_or_build("preprocess", key, lambda out, f=facts: f, {"subject": files.subject})
        volumes = load_subject(store, files.subject, key)
        table, picked = synthetic_slices(per_subject, data.slicing.size[0], number)
        store.get_or_build(STAGE, slices_key(key, data.slicing, data.qc.max_offset, data.qc.bins),
                           lambda out, t=table, p=picked, v=volumes: write_subject_entry(out, t, p, [0, 0], v, data.slicing),
                           {"subject": files.subject})
    return sum(e.size_bytes() for e in store.entries() if e.stage == STAGE)


def peak_rss_mb(spec_path: Path, env: dict[str, str], in_memory: bool) -> tuple[float, float]:
    """(peak resident set of one `mrsynth run` process, ru_maxrss of that child alone; its peak up to the
    first validation, i.e. through setup and the training epoch), in MB."""
    cmd = [sys.executable, __file__, CHILD_FLAG, str(spec_path), *([IN_MEMORY_FLAG] if in_memory else [])]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:  # files, not pipes: nothing to drain
        child = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage (Popen.wait would not give it)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"mrsynth run {spec_path.name} failed:\n{err.read().decode()[-3000:]}")
        return usage.ru_maxrss / 1024, float(out.read().decode().split()[-1])


def run_child(spec_path: str, in_memory: bool) -> int:
    """`mrsynth run SPEC`, noting the peak RSS when validation first starts; with `in_memory`, the training
    split is copied into memory before the first step (the path before streaming)."""
    import resource

    import mrsynth.train.datasets as datasets
    import mrsynth.train.evaluate as evaluate
    from mrsynth.cli import main
    from mrsynth.train.batches import SliceArrays

    streamed, scored, noted = datasets.training_set, evaluate.evaluate, []
    if in_memory:
        datasets.training_set = lambda exp, data, rows: _copied(streamed(exp, data, rows), SliceArrays)

    def noting_evaluate(*args, **kwargs):
        noted.append(noted[0] if noted else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return scored(*args, **kwargs)

    evaluate.evaluate = noting_evaluate
    code = main(["run", spec_path])
    print(f"peak MB through training: {noted[0]:.0f}")
    return code


def _copied(train, slice_arrays_type):
    return train.in_memory() if isinstance(train, slice_arrays_type) else train


def bench_rss(folder: Path, specs: dict[str, Path], with_in_memory: bool) -> dict[str, tuple[float, float]]:
    env = {**os.environ, "MRSYNTH_CACHE": str(folder / "cache"), "MRSYNTH_RUNS": str(folder / "runs"),
           "MRSYNTH_REGISTRY": str(folder / "registry"), "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    peaks = {}
    for mode in ("streamed", "in memory") if with_in_memory else ("streamed",):
        for scale, spec in specs.items():
            started = time.perf_counter()
            whole, training = peaks[f"{mode} {scale}"] = peak_rss_mb(spec, env, mode == "in memory")
            print(f"  {mode:>9} {scale}: peak RSS {whole:.0f} MB, {training:.0f} MB through training "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    return peaks


class TimedSet:
    """A training set as fit sees it, timing its batch loop: wall seconds inside next() and in the whole loop."""

    def __init__(self, train, prefetch: bool):
        self.train, self.prefetch = train, prefetch
        self.waiting = self.span = self.cpu = 0.0
        self.steps = 0

    def __len__(self) -> int:
        return len(self.train)

    def epoch_batches(self, *args):
        from mrsynth.train.batches import training_batches

        # the old path made each batch in the loop's thread; the streamed one is made ahead (Prefetched)
        batches = self.train.epoch_batches(*args) if self.prefetch else training_batches(self.train, *args)
        start, cpu = time.perf_counter(), time.process_time()  # CPU time of every thread, the prefetcher's too
        while True:
            before = time.perf_counter()
            batch = next(batches, None)
            self.waiting += time.perf_counter() - before
            if batch is None:
                break
            self.steps += 1
            yield batch
        self.span += time.perf_counter() - start
        self.cpu += time.process_time() - cpu


def seed_networks_experiment(size: int, batch: int):
    """The seed 3T→7T networks and losses (experiments/3t7t-masked.json) at `size`², one epoch on the CPU."""
    exp = load_spec(REPO / "experiments" / "3t7t-masked.json").experiment
    data = exp.data.model_copy(update={"slicing": exp.data.slicing.model_copy(update={"size": (size, size)})})
    train = exp.train.model_copy(update={"epochs": 1, "decay_epochs": 0, "device": "cpu", "batch_size": batch})
    return exp.model_copy(update={"data": data, "train": train})


def timed_epoch(exp, nets, timed: TimedSet, ckpt: Path) -> dict[str, float]:
    """Wall and CPU seconds per step, and the share of the step loop spent in next(), of one epoch of the real loop."""
    import torch

    from mrsynth.train.loop import fit

    timed.waiting = timed.span = timed.cpu = 0.0
    timed.steps = 0
    fit(exp, nets, timed, lambda: ({"val/ssim_brain": 0.5}, None), torch.device("cpu"), ckpt_dir=ckpt, progress=False)
    return {"wall": timed.span / timed.steps, "cpu": timed.cpu / timed.steps, "waiting": timed.waiting / timed.span}


def bench_steps(spec_path: Path, cache: Path, args: argparse.Namespace, ckpt: Path) -> dict[str, list[float]]:
    """Per round: seconds per step streamed and in memory, and the streamed loop's share waiting for data."""
    import copy

    import torch

    from mrsynth.data.prepare import prepare_data
    from mrsynth.train.batches import SliceArrays
    from mrsynth.train.build import build_networks

    torch.set_num_threads(args.threads)  # the prefetcher's copies and flips share them with the step
    exp = seed_networks_experiment(args.size, args.batch)
    data = prepare_data(load_spec(spec_path), CacheStore(cache), workers=1, progress=False)
    rows = np.arange(args.steps * args.batch)  # the first rows of the training split: `steps` steps an epoch
    streamed = SliceArrays(*data.slices.arrays("train"), rows)
    sets = {"streamed": TimedSet(streamed, prefetch=True), "in memory": TimedSet(streamed.in_memory(), prefetch=False)}
    nets = {"streamed": build_networks(exp)}
    nets["in memory"] = copy.deepcopy(nets["streamed"])
    for name in sets:  # warm-up: allocator, first-call costs
        timed_epoch(exp, nets[name], sets[name], ckpt)
    out: dict[str, list[dict[str, float]]] = {name: [] for name in sets}
    for round_ in range(args.rounds):
        for name in sorted(sets, reverse=round_ % 2 == 1):  # ABBA: neither path always runs first
            out[name].append(timed_epoch(exp, nets[name], sets[name], ckpt))
    return out


def main() -> int:
    if len(sys.argv) in (3, 4) and sys.argv[1] == CHILD_FLAG:
        return run_child(sys.argv[2], in_memory=sys.argv[3:] == [IN_MEMORY_FLAG])
    args = parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-stream-", dir=args.dir))
    try:
        return bench(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=4, help="training subjects at 1× (default 4; 4× has four times as many)")
    parser.add_argument("--slices", type=int, default=180, help="slices per subject (default 180)")
    parser.add_argument("--size", type=int, default=256, help="slice side (default 256)")
    parser.add_argument("--steps", type=int, default=6, help="training steps per round in (b) (default 6)")
    parser.add_argument("--batch", type=int, default=16, help="batch size in (b) (default 16, the seed spec's)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of (b), streamed and in memory in ABBA order (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in (b) (1: steadiest on a shared 2-core machine)")
    parser.add_argument("--dir", type=Path, default=None, help="where the cache is written (default: the temp folder)")
    parser.add_argument("--tiny", action="store_true", help="smallest sizes, streamed runs only: checks that it runs (CI)")
    args = parser.parse_args()
    if args.tiny:
        args.subjects, args.slices, args.size, args.steps, args.batch, args.rounds = 1, 3, 32, 2, 4, 1
    return args


def bench(args: argparse.Namespace, folder: Path) -> int:
    train4, val, test = subject_names(4 * args.subjects)
    write_dataset(folder / "dataset", [*train4, val, test])
    specs = {}
    for scale, train in (("1x", train4[: args.subjects]), ("4x", train4)):
        specs[scale] = folder / f"{scale}.json"
        specs[scale].write_text(json.dumps(spec_data(folder / "dataset", train, val, test, args.size, SMALL_NETS)))
    store = CacheStore(folder / "cache")
    started = time.perf_counter()
    size = fill_cache(store, specs["4x"], args.slices)
    entries = len(store.entries())
    print(f"slices cache: {size / 2**30:.2f} GiB in {entries // 2} subjects' entries, {args.size}² "
          f"({time.perf_counter() - started:.0f} s to write); load average {os.getloadavg()[0]:.1f}", flush=True)
    print("(a) peak RSS of `mrsynth run`, one epoch:")
    peaks = bench_rss(folder, specs, with_in_memory=not args.tiny)
    assert len(CacheStore(folder / "cache").entries()) == entries, "a run built cache entries: not what is measured"
    for mode in ("streamed", "in memory") if "in memory 1x" in peaks else ("streamed",):
        (whole1, train1), (whole4, train4) = peaks[f"{mode} 1x"], peaks[f"{mode} 4x"]
        print(f"  {mode} growth 1x -> 4x: {100 * (whole4 / whole1 - 1):+.1f} % of the peak, "
              f"{100 * (train4 / train1 - 1):+.1f} % through training" + (" (goal <= 10 %)" if mode == "streamed" else ""))
    steps = bench_steps(specs["4x"], folder / "cache", args, folder / "ckpt")
    print(f"(b) seconds per step, seed networks at {args.size}², batch {args.batch}, {args.steps} steps a round, "
          f"{args.threads} torch thread(s):")
    for clock in ("wall", "cpu"):
        pairs = [(a[clock], b[clock]) for a, b in zip(steps["streamed"], steps["in memory"], strict=True)]
        print(f"  {clock:>4}: streamed {statistics.median(a for a, _ in pairs):.3f}, in memory "
              f"{statistics.median(b for _, b in pairs):.3f}; streamed / in memory per round "
              f"{', '.join(f'{a / b:.3f}' for a, b in pairs)}, median {statistics.median(a / b for a, b in pairs):.3f}x (goal <= 1.05x)")
    waits = [r["waiting"] for r in steps["streamed"]]
    print(f"(c) share of the streamed step loop waiting for data: {100 * statistics.median(waits):.2f} % "
          f"(rounds {', '.join(f'{100 * w:.2f}' for w in waits)}; goal <= 3 %)")
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
