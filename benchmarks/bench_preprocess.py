"""Data-stage cost: cold preprocessing per subject, and a warm re-run after a QC-threshold-only change.

Run with `python benchmarks/bench_preprocess.py [--tiny]` (or `make bench`). Every run starts from an
empty temporary cache (MRSYNTH_CACHE points at it too), so "cold" means nothing is reused:
- demo: the default demo (8 subjects, default shape) generated into a temporary folder, through
  `prepare_data` of experiments/3t7t-qc.json;
- real: BraTS-GLI-00001 t1n -> t2w (1 mm, 240x240x155) from ../shared/data/mri, through the same
  stages and spec with the one subject as the training split (`prepare_data` itself needs three
  subjects for a split); skipped when absent.
"Warm" reruns the same stages after changing data.qc.min_mi only, then applies the QC filter; the
goal is at most 1% of the cold time. Wall-clock seconds from time.perf_counter.
--tiny (CI): the same code paths on 3 demo subjects of 32x32x24 and on the BraTS pair at every third
voxel (80x80x52, 3 mm), in seconds; its figures say nothing about the full sizes.
"""

from __future__ import annotations

import argparse
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
TINY_DEMO, TINY_STRIDE = {"subjects": 3, "shape": (32, 32, 24)}, 3  # 3 subjects: the spec names a val and a test one


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


def demo_row(work: Path, tiny: bool) -> dict:
    from mrsynth.cache import CacheStore
    from mrsynth.data.prepare import prepare_data
    from mrsynth.demo import DEFAULT_SHAPE, DEFAULT_SUBJECTS, generate_demo
    from mrsynth.qc.filter import apply_qc
    from mrsynth.spec.load import load_spec

    root = work / "demo"
    size = TINY_DEMO if tiny else {"subjects": DEFAULT_SUBJECTS, "shape": DEFAULT_SHAPE}
    generate_demo(root, **size)
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
    shape = "x".join(map(str, size["shape"]))
    return {"dataset": f"demo {shape}", "subjects": size["subjects"], "cold": cold, "warm": warm, **stage_seconds(store)}


def every_third_voxel(work: Path) -> tuple[Path, Path]:
    """The BraTS pair at every TINY_STRIDE-th voxel (the affine scaled to match): a small real pair for --tiny."""
    import nibabel as nib
    import numpy as np

    paths = []
    for name in (SOURCE, TARGET):
        image = nib.load(BRATS / name)
        affine = image.affine.copy()
        affine[:3, :3] *= TINY_STRIDE
        data = np.asarray(image.dataobj)[::TINY_STRIDE, ::TINY_STRIDE, ::TINY_STRIDE]
        paths.append(work / name)
        nib.save(nib.Nifti1Image(data, affine), paths[-1])
    return paths[0], paths[1]


def real_row(work: Path, tiny: bool) -> dict | None:
    from mrsynth.cache import CacheStore
    from mrsynth.data.ingest import SubjectFiles
    from mrsynth.data.preprocessed import load_subject, preprocess_subjects
    from mrsynth.data.slices import build_slices
    from mrsynth.qc.filter import apply_qc
    from mrsynth.spec.load import load_spec

    if not (BRATS / SOURCE).exists() or not (BRATS / TARGET).exists():
        return None
    source, target = every_third_voxel(work) if tiny else (BRATS / SOURCE, BRATS / TARGET)
    files = (SubjectFiles("brats-00001", source, target),)
    store = CacheStore(Path(os.environ["MRSYNTH_CACHE"]) / "real")
    # already skull-stripped; 256x256 slices hold the whole 240x240 plane (96x96 the tiny 80x80 one);
    # the spec's val/test subjects are demo subjects: here the one real subject is the training split
    size = "[96, 96]" if tiny else "[256, 256]"
    base = ("data.preprocess.skull_strip.kind=none", f"data.slicing.size={size}",
            "data.split.val_subjects=[]", "data.split.test_subjects=[]")

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
    shape = "80x80x52 (3 mm)" if tiny else "240x240x155"
    return {"dataset": f"BraTS t1n->t2w {shape}", "subjects": 1, "cold": cold, "warm": warm, **stage_seconds(store)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="smallest sizes, seconds: checks the benchmark runs (CI)")
    tiny = parser.parse_args().tiny
    with tempfile.TemporaryDirectory(prefix="mrsynth-bench-") as folder:
        work = Path(folder)
        os.environ["MRSYNTH_CACHE"] = str(work / "cache")  # nothing outside the temporary folder is read or written
        rows = [demo_row(work, tiny), real_row(work, tiny)]
    print(f"data stages, cold = empty cache; warm = rerun after {THRESHOLD_CHANGE} (goal: warm <= 1% of cold)")
    print(f"{'dataset':<32}{'subjects':>9}{'cold s':>9}{'s/subject':>11}{'warm s':>9}{'warm/cold':>11}"
          f"{'n4 s':>8}{'reg s':>8}{'slices s':>10}")
    for row in rows:
        if row is None:
            print(f"{'BraTS t1n->t2w':<32}  skipped: {BRATS} not found")
            continue
        per_subject = row["cold"] / row["subjects"]
        share = row["warm"] / row["cold"]
        print(f"{row['dataset']:<32}{row['subjects']:>9}{row['cold']:>9.1f}{per_subject:>11.2f}{row['warm']:>9.3f}{share:>10.2%}"
              f"{row['n4']:>8.1f}{row['registration']:>8.1f}{row['slices']:>10.1f}")
    print("s/subject: cold wall time / subjects (subjects build in parallel worker processes); n4 (source + target)"
          " and reg: median per subject; slices: the slices + QC metrics stage")
    return 0


if __name__ == "__main__":
    sys.exit(main())
