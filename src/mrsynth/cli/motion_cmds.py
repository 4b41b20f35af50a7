"""Motion-QC commands: demo QC labels, scoring volumes; `mrsynth run` hands motion_qc specs to `run_motion`."""

from __future__ import annotations

import argparse
from pathlib import Path

from mrsynth.errors import MrsynthError


def register(commands) -> None:
    p = commands.add_parser("motion-labels", help="write the demo's QC labels CSV (from its ground_truth.json)",
                            description="One row per image: subject, session, suffix, label (motion | slice_defect | clean). "
                                        "experiments/motion-qc.json reads it as data.exclude and transfer.labels.")
    p.add_argument("--demo", type=Path, default=None, metavar="DIR", help="demo dataset (default: data/demo in the project)")
    p.add_argument("--out", type=Path, default=None, metavar="CSV", help="default: DIR/derivatives/qc/motion_labels.csv")
    p.set_defaults(handler=motion_labels)

    p = commands.add_parser("motion-score", help="predicted motion score (mm) of NIfTI volumes",
                            description="MODEL is a finished motion_qc run: its spec name, or a spec-hash / run-id prefix. "
                                        "Scores are cached per model run and file content.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("volumes", nargs="+", type=Path, metavar="VOLUME.nii.gz")
    p.set_defaults(handler=motion_score)


def motion_labels(args: argparse.Namespace) -> int:
    from mrsynth.motion.labels import write_demo_labels
    from mrsynth.paths import demo_data_dir

    out = write_demo_labels(args.demo or demo_data_dir(), args.out)
    print(f"wrote {out}")
    return 0


def motion_score(args: argparse.Namespace) -> int:
    from mrsynth.cache import CacheStore
    from mrsynth.motion.scorer import score_files
    from mrsynth.paths import cache_dir

    scores = score_files({str(p): p for p in args.volumes}, args.model, CacheStore(cache_dir()))
    for name, score in scores.items():
        print(f"{score:8.3f}  {name}")
    return 0


def run_motion(spec, args: argparse.Namespace) -> int:
    """`mrsynth run` of a motion_qc spec (one process; --nproc and --workers do not apply)."""
    from mrsynth.motion.runner import HEADLINE, run_motion_qc

    if getattr(args, "nproc", 1) > 1:
        raise MrsynthError(f"{spec.name}: motion_qc runs use one process; drop --nproc")
    result = run_motion_qc(spec, tracking_uri=args.tracking_uri, resume=args.resume)
    print(f"{spec.name}: run {result.run_id} {result.status}")
    if result.reason:
        print(f"  reason: {result.reason}")
    for key in HEADLINE:
        if key in result.metrics:
            print(f"  {key:<28} {result.metrics[key]:8.4f}")
    print(f"  tracking: {result.tracking_uri}")
    return 0 if result.status == "FINISHED" else 1
