"""`mrsynth qc-pair` as whole processes beside the naive per-slice reference process, on a real BraTS pair.

Run with `python benchmarks/bench_qc_pair.py [--rounds R] [--tiny]` (or `make bench`). Times, as separate
processes started from nothing: on a copy of src/ without compiled files (a fresh clone), the setup
steps `make setup` runs once (bytecode, the QC loops compiled ahead of time), then the first `qc-pair
--no-figures` after them; then, on this checkout, rounds of warm `qc-pair --no-figures`, `qc-pair` with
figures and the naive reference process (load both volumes, `reference_slice_metrics`, write the table),
in alternation so machine load hits all alike. Medians of wall and CPU seconds (user + system of the
child); goals: --no-figures >= 1.5x faster than the reference process, with figures <= 2 s. Skips when
../shared/data/mri is absent.
--tiny (CI): a 48x48x32 cut of the pair (or a generated one), one round, no fresh-clone step: checks it runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAIR_DIR = REPO.parent / "shared" / "data" / "mri" / "brats_gli_00001"
SOURCE, TARGET = "BraTS-GLI-00001-000-t1n.nii.gz", "BraTS-GLI-00001-000-t2w.nii.gz"
SETUP_STEPS = (["-m", "compileall", "-q", "{src}"], ["-m", "mrsynth.qc.aot"])  # as the Makefile's setup runs them
NAIVE = """\
import sys
import nibabel as nib
import numpy as np
from mrsynth.qc.reference import reference_slice_metrics
source, target, out, max_offset, bins, fraction = sys.argv[1:]
volumes = [np.asanyarray(nib.load(path).dataobj, dtype=np.float32) for path in (source, target)]
table = reference_slice_metrics(*volumes, axis=2, max_offset=int(max_offset), bins=int(bins), min_brain_fraction=float(fraction))
table.to_csv(out, index=False)
"""


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s) of one child process; exits naming the command when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"bench_qc_pair: {' '.join(command[:4])} ... exited {done.returncode}:\n{done.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def tiny_pair(folder: Path) -> tuple[Path, Path]:
    """A 48x48x32 cut of the BraTS pair, or two smooth blobs when it is absent."""
    import nibabel as nib
    import numpy as np

    if (PAIR_DIR / SOURCE).exists():
        images = [nib.load(PAIR_DIR / name) for name in (SOURCE, TARGET)]
        arrays = [np.asarray(image.dataobj, dtype=np.float32)[96:144, 96:144, 60:92] for image in images]
    else:
        grid = np.indices((48, 48, 32)).astype(np.float32)
        blob = np.exp(-(((grid - np.array([24, 24, 16])[:, None, None, None]) / 12.0) ** 2).sum(axis=0))
        arrays = [blob * (blob > 0.2), (1 - blob) * (blob > 0.2)]
    paths = [folder / "tiny_source.nii.gz", folder / "tiny_target.nii.gz"]
    for array, path in zip(arrays, paths, strict=True):
        nib.save(nib.Nifti1Image(array, np.eye(4)), path)
    return paths[0], paths[1]


def commands(source: Path, target: Path, out: Path) -> dict[str, list[str]]:
    from mrsynth.spec.qc import QCSpec

    qc = QCSpec()
    qc_pair = [sys.executable, "-m", "mrsynth", "qc-pair", str(source), str(target)]
    naive_args = [str(source), str(target), str(out / "naive.csv"), str(qc.max_offset), str(qc.bins), str(qc.min_brain_fraction)]
    return {
        "qc-pair --no-figures": [*qc_pair, "--out", str(out / "metrics"), "--no-figures"],
        "qc-pair (figures)": [*qc_pair, "--out", str(out / "report")],
        "naive reference process": [sys.executable, "-c", NAIVE, *naive_args],
    }


def fresh_clone_first_call(command: list[str], env: dict[str, str], folder: Path) -> dict[str, tuple[float, float]]:
    """The setup steps, then the first call, on a copy of src/ without bytecode, numba cache or extension."""
    src = folder / "src"
    shutil.copytree(REPO / "src", src, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.egg-info"))
    fresh = {**env, "PYTHONPATH": str(src)}
    setup = [timed([sys.executable, *(arg.format(src=src) for arg in step)], fresh) for step in SETUP_STEPS]
    return {"setup steps (once)": tuple(map(sum, zip(*setup, strict=True))), "first --no-figures after setup": timed(command, fresh)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="a small cut, one round, no fresh-clone step: checks it runs (CI)")
    args = parser.parse_args()
    if not args.tiny and not (PAIR_DIR / SOURCE).exists():
        print(f"bench_qc_pair: skipped, {PAIR_DIR} not found")
        return 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        source, target = tiny_pair(tmp) if args.tiny else (PAIR_DIR / SOURCE, PAIR_DIR / TARGET)
        runs = commands(source, target, tmp)
        once = {} if args.tiny else fresh_clone_first_call(runs["qc-pair --no-figures"], env, tmp)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
        for _ in range(1 if args.tiny else args.rounds):
            for name, command in runs.items():
                times[name].append(timed(command, env))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"whole processes on {source.name} / {target.name}; {os.cpu_count()} CPUs, load average {load} at the end")
    print(f"{'process':<32}{'wall s':>9}{'cpu s':>8}")
    for name, (wall, cpu) in once.items():
        print(f"{name:<32}{wall:>9.2f}{cpu:>8.2f}")
    medians = {name: [statistics.median(column) for column in zip(*runs_, strict=True)] for name, runs_ in times.items()}
    for name, (wall, cpu) in medians.items():
        print(f"{name + ' (median)':<32}{wall:>9.2f}{cpu:>8.2f}")
    fast, figures, naive = (medians[name] for name in runs)
    print(f"--no-figures vs the reference process: {naive[0] / fast[0]:.2f}x wall, {naive[1] / fast[1]:.2f}x cpu (goal >= 1.5x); "
          f"with figures {figures[0]:.2f} s wall (goal <= 2 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
