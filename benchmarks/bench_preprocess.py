"""Data-stage cost: cold preprocessing per subject, and a warm re-run after a QC-threshold-only change.

Run with `python benchmarks/bench_preprocess.py` (or `make bench`). Every run starts from an empty
temporary cache (MRSYNTH_CACHE points at it too), so "cold" means nothing is reused:
- demo: the default demo (8 subjects, default shape) generated into a temporary folder, through
  `prepare_data` of experiments/3t7t-qc.json;
- real: BraTS-GLI-00001 t1n -> t2w (1 mm, 240x240x155) from ../shared/data/mri, through the same
  stages (`prepare_data` itself needs three subjects for a split); skipped when absent.
"Warm" reruns the same stages after changing data.qc.min_mi only, then applies the QC filter; the
goal is at most 1% of the cold time. Wall-clock seconds from time.perf_counter.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEC = HERE.parent / "experiments" / "3t7t-qc.json"
BRATS = HERE.parents[1] / "shared" / "data" / "mri" / "brats_gli_00001"
SOURCE, TARGET = "BraTS-GLI-00001-000-t1n.nii.gz", "BraTS-GLI-00001-000-t2w.nii.gz"
THRESHOLD_CHANGE = "data.qc.min_mi=0.1"


def timed(run):
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def stage_seconds(store) -> dict[str, float]:
    """Median per-subject seconds of N4 and registration, and the slices stage's build time, from the manifests."""
    import numpy as np

    infos = [entry.manifest["facts"]["info"] for entry in store.entries() if entry.stage == "preprocess"]
    slices = [entry.manifest["build_seconds"] for entry in store.entries() if entry.stage == "slices"]
    return {
        "n4": float(np.median([i["seconds_source"]["n4"] + i["seconds_target"]["n4"] for i in infos])),
        "registration": float(np.median([i.get("registration_seconds", 0.0) for i in infos])),
        "slices": float(sum(slices)),
    }


def demo_row(work: Path) -> dict:
    from mrsynth.cache import CacheStore
    from mrsynth.data.prepare import prepare_data
    from mrsynth.demo import DEFAULT_SUBJECTS, generate_demo
    from mrsynth.qc.filter import apply_qc
    from mrsynth.spec.load import load_spec

    root = work / "demo"
    generate_demo(root)
    store = CacheStore(Path(os.environ["MRSYNTH_CACHE"]) / "demo")
    base = (f"data.dataset.root={root}",)
    cold, _ = timed(lambda: prepare_data(load_spec(SPEC, base), store, progress=False))
    changed = load_spec(SPEC, (*base, THRESHOLD_CHANGE))

    def warm_run():
        prepared = prepare_data(changed, store, progress=False)
        return apply_qc(prepared.slices.table(), changed.experiment.data.qc), prepared

    warm, (_, prepared) = timed(warm_run)
    if prepared.built:
        raise RuntimeError(f"a threshold-only change rebuilt {prepared.built}")
    return {"dataset": "demo 64x64x48", "subjects": DEFAULT_SUBJECTS, "cold": cold, "warm": warm, **stage_seconds(store)}


def real_row() -> dict | None:
    from mrsynth.cache import CacheStore
    from mrsynth.data.ingest import SubjectFiles
    from mrsynth.data.preprocessed import load_subject, preprocess_subjects
    from mrsynth.data.slices import build_slices
    from mrsynth.qc.filter import apply_qc
    from mrsynth.spec.load import load_spec

    if not (BRATS / SOURCE).exists() or not (BRATS / TARGET).exists():
        return None
    files = (SubjectFiles("brats-00001", BRATS / SOURCE, BRATS / TARGET),)
    store = CacheStore(Path(os.environ["MRSYNTH_CACHE"]) / "real")
    # already skull-stripped; 256x256 slices hold the whole 240x240 plane
    base = ("data.preprocess.skull_strip.kind=none", "data.slicing.size=[256, 256]")

    def stages(overrides: tuple[str, ...]):
        data = load_spec(SPEC, overrides).experiment.data
        outcome = preprocess_subjects(files, data.preprocess, store, workers=1, progress=False)
        volumes = [load_subject(store, s, k) for s, k in outcome.keys.items()]
        slices = build_slices(store, volumes, data.split, data.slicing, data.qc.max_offset, data.qc.bins)
        return apply_qc(slices.table(), data.qc)

    builds = len(store.builds)
    cold, _ = timed(lambda: stages(base))
    warm, _ = timed(lambda: stages((*base, THRESHOLD_CHANGE)))
    if len(store.builds) != builds + 2:
        raise RuntimeError(f"expected 2 cold builds and no warm one, got {store.builds[builds:]}")
    return {"dataset": "BraTS t1n->t2w 240x240x155", "subjects": 1, "cold": cold, "warm": warm, **stage_seconds(store)}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="mrsynth-bench-") as folder:
        work = Path(folder)
        os.environ["MRSYNTH_CACHE"] = str(work / "cache")  # nothing outside the temporary folder is read or written
        rows = [demo_row(work), real_row()]
    print(f"data stages, cold = empty cache; warm = rerun after {THRESHOLD_CHANGE} (goal: warm <= 1% of cold)")
    print(f"{'dataset':<28}{'subjects':>9}{'cold s':>9}{'s/subject':>11}{'warm s':>9}{'warm/cold':>11}"
          f"{'n4 s':>8}{'reg s':>8}{'slices s':>10}")
    for row in rows:
        if row is None:
            print(f"{'BraTS t1n->t2w':<28}  skipped: {BRATS} not found")
            continue
        per_subject = row["cold"] / row["subjects"]
        share = row["warm"] / row["cold"]
        print(f"{row['dataset']:<28}{row['subjects']:>9}{row['cold']:>9.1f}{per_subject:>11.2f}{row['warm']:>9.3f}{share:>10.2%}"
              f"{row['n4']:>8.1f}{row['registration']:>8.1f}{row['slices']:>10.1f}")
    print("s/subject: cold wall time / subjects (subjects build in parallel worker processes); n4 (source + target)"
          " and reg: median per subject; slices: the slices + QC metrics stage")
    return 0


if __name__ == "__main__":
    sys.exit(main())
