"""Skull stripping of raw heads: deepbet's seconds per volume and peak memory, and every method's agreement
with a reference brain mask.

Run with `python benchmarks/bench_skullstrip.py [--tiny]` (or `make bench`). Heads from ../shared/data/mri: SPM's
avg152T1 (MNI space, with skull) and three raw IXI T1 heads (skull and neck, 2 mm); skipped when absent.
deepbet runs in one spawned worker process on one torch thread, as in the preprocessing pool; its first
volume also loads the networks, timed apart. Peak RSS is that worker's. References (needs nilearn, a dev
extra): nilearn's MNI152 brain mask on avg152T1's grid, carried onto each IXI head by an affine ANTs
registration of avg152T1 (tests/mni_brain_reference.py, shared with the tests).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the reference masks are built as the tests build them

from mni_brain_reference import (  # noqa: E402
    AVG152_T1,
    IXI_FOLDER,
    IXI_HEADS,
    agreement,
    head_reference,
    template_mask,
)
from mrsynth_testing import SHARED_MRI  # noqa: E402

METHODS = ("threshold", "ants_mask", "deepbet")


def deepbet_worker(paths: list[Path]) -> tuple[float, list[tuple], float]:
    """In a fresh process: model load seconds, (mask, wall s, CPU s) per head, and the process's peak RSS in MB."""
    from mrsynth.preprocess.deepbet_strip import brain_extractor
    from mrsynth.preprocess.threads import limit_ants_threads

    limit_ants_threads(1)  # what preprocess_subjects gives each worker
    started = time.perf_counter()
    brain_extractor()
    load_seconds = time.perf_counter() - started
    results = [timed_mask(path, "deepbet") for path in paths]
    return load_seconds, results, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed_mask(path: Path, kind: str):
    """One method's mask of one head (default settings), with its wall and CPU seconds."""
    from mrsynth.preprocess.skullstrip import brain_mask
    from mrsynth.preprocess.volumes import load_volume
    from mrsynth.spec.preprocess import PreprocessSpec

    spec = PreprocessSpec.model_validate({"skull_strip": {"kind": kind}}).skull_strip
    volume = load_volume(path.name, path)
    wall, cpu = time.perf_counter(), time.process_time()
    mask = brain_mask(path.name, volume, spec, None)
    return mask, time.perf_counter() - wall, time.process_time() - cpu


def references(heads: list[Path], folder: Path) -> dict[str, object]:
    """Each head's reference brain mask (bool, RAS, on the head's grid)."""
    from mrsynth.preprocess.volumes import load_mask

    template = heads[0]
    brain = template_mask(template, folder)
    paths = {template.name: brain, **{h.name: head_reference(h, template, brain, folder) for h in heads[1:]}}
    return {h.name: load_mask(h.name, paths[h.name], h) for h in heads}


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="avg152T1 only (no registrations): checks the benchmark runs (CI)")
    tiny = parser.parse_args().tiny
    heads = [SHARED_MRI.joinpath(*AVG152_T1), *([] if tiny else (SHARED_MRI / IXI_FOLDER / name for name in IXI_HEADS))]
    if not all(h.exists() for h in heads):
        print(f"bench_skullstrip: skipped, heads under {SHARED_MRI} not found")
        return 0
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        load_seconds, deepbet_runs, peak_mb = pool.submit(deepbet_worker, heads).result()
    with tempfile.TemporaryDirectory(prefix="mrsynth-bench-") as folder:
        truth = references(heads, Path(folder))
    from mrsynth.preprocess.volumes import load_volume

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"skull strip on raw heads, CPU, {os.cpu_count()} CPUs, load average {load}")
    print(f"deepbet worker: networks loaded in {load_seconds:.1f} s, peak RSS {peak_mb:.0f} MB, 1 torch thread")
    print(f"{'head':<30}{'method':<11}{'Dice':>6}{'outside':>9}{'litres':>8}{'ref L':>7}{'wall s':>8}{'cpu s':>7}")
    for index, head in enumerate(heads):
        affine = load_volume(head.name, head).affine
        runs = {kind: timed_mask(head, kind) for kind in METHODS[:2]} | {"deepbet": deepbet_runs[index]}
        for kind, (mask, wall, cpu) in runs.items():
            found = agreement(mask, truth[head.name], affine)
            print(f"{head.name:<30}{kind:<11}{found.dice:>6.3f}{found.outside:>9.1%}{found.litres:>8.2f}"
                  f"{found.reference_litres:>7.2f}{wall:>8.2f}{cpu:>7.2f}")
    wall, cpu = (statistics.median(run[column] for run in deepbet_runs) for column in (1, 2))
    print(f"deepbet per volume: {wall:.2f} s wall, {cpu:.2f} s CPU (median of "
          f"{len(heads)} heads)")
    print("outside: share of the mask outside the reference brain mask; litres: mask volume; ref L: reference volume")
    return 0


if __name__ == "__main__":
    sys.exit(main())
