"""Data commands: demo data, preprocessing, QC reports, the cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from mrsynth.cli.spec_cmds import add_set_option


def register(commands) -> None:
    p = commands.add_parser("demo-data", help="generate the demo dataset (offline, deterministic)",
                            description="Generate a BIDS-like 3T/7T demo dataset with known injected defects (ground_truth.json).")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: data/demo in the project)")
    p.add_argument("--subjects", type=int, default=None, help="number of subjects (default 8)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--shape", type=int, nargs=3, default=None, metavar=("X", "Y", "Z"), help="volume shape in voxels")
    p.set_defaults(handler=demo_data)

    p = commands.add_parser("preprocess", help="build (or reuse) the preprocessing and slice caches of a spec",
                            description="Skull strip, N4, register, normalise every subject (in parallel), then slice and "
                                        "compute QC metrics. Each stage is cached by content; unchanged inputs are reused.")
    p.add_argument("spec", type=Path, metavar="SPEC")
    add_set_option(p)
    p.add_argument("--workers", type=int, default=None, help="parallel subject processes (default: one per core)")
    p.set_defaults(handler=preprocess)

    p = commands.add_parser("qc", help="QC report of a spec's slice pairs (metrics, reasons, worst slices)",
                            description="Apply the spec's QC thresholds to its cached slice metrics and write a report folder "
                                        "with qc.csv, summary.csv, figures of the worst flagged slices and index.html.")
    p.add_argument("spec", type=Path, metavar="SPEC")
    add_set_option(p)
    p.add_argument("--out", type=Path, default=None, help="report folder (default: reports/<spec name>/qc)")
    p.add_argument("--worst", type=int, default=12, help="figures for this many worst flagged slices")
    p.set_defaults(handler=qc_report)

    p = commands.add_parser("qc-pair", help="QC of one co-registered volume pair, as given",
                            description="Slice-pair QC of two volumes on one grid, on their intensities as given "
                                        "(no normalisation, registration or resampling). Writes DIR/qc.csv, figures and index.html.")
    p.add_argument("source", type=Path)
    p.add_argument("target", type=Path)
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.add_argument("--source-mask", type=Path, default=None, metavar="M")
    p.add_argument("--target-mask", type=Path, default=None, metavar="M")
    p.add_argument("--axis", type=int, default=2, choices=(0, 1, 2), metavar="A")
    p.add_argument("--max-offset", type=int, default=None, metavar="K", help="offset search radius (default: data.qc.max_offset)")
    p.add_argument("--no-figures", action="store_true", help="metrics and tables only: no figures of the worst slices")
    add_set_option(p)
    p.set_defaults(handler=qc_pair)

    p = commands.add_parser("cache", help="list, measure or clean the preprocessing cache",
                            description="The content-addressed cache ($MRSYNTH_CACHE or .cache/).")
    sub = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    sub.add_parser("ls", help="one line per entry").set_defaults(handler=cache_ls)
    sub.add_parser("du", help="size per stage").set_defaults(handler=cache_du)
    gc = sub.add_parser("gc", help="remove entries no spec in experiments/ refers to, and leftovers of killed builds")
    gc.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    gc.add_argument("specs", nargs="*", type=Path, metavar="SPEC", help="specs whose entries to keep (default: experiments/*.json)")
    gc.set_defaults(handler=cache_gc)


def demo_data(args: argparse.Namespace) -> int:
    from mrsynth.demo import DEFAULT_SHAPE, DEFAULT_SUBJECTS, generate_demo
    from mrsynth.errors import MrsynthError
    from mrsynth.paths import demo_data_dir

    subjects = args.subjects if args.subjects is not None else DEFAULT_SUBJECTS
    if subjects < 3:
        raise MrsynthError(f"--subjects: must be >= 3 for a train/val/test split (got {subjects})")
    shape = tuple(args.shape) if args.shape else DEFAULT_SHAPE
    if min(shape) < 16:
        raise MrsynthError(f"--shape: each side must be >= 16 (got {list(shape)})")
    out = args.out or demo_data_dir()
    truth = generate_demo(out, subjects=subjects, seed=args.seed, shape=shape, progress=True)
    from mrsynth.motion.labels import write_demo_labels

    labels = write_demo_labels(out)  # the motion-QC demo spec's exclusions and transfer labels
    print(f"wrote {subjects} subjects to {out} (ground truth: {truth}; QC labels: {labels})")
    return 0


def translation_only(spec, command: str) -> None:
    if spec.kind != "translation":
        from mrsynth.errors import MrsynthError

        raise MrsynthError(f"{spec.name}: `mrsynth {command}` works on translation specs; a {spec.kind} spec runs with `mrsynth run`")


def preprocess(args: argparse.Namespace) -> int:
    from mrsynth.data.prepare import prepare_data
    from mrsynth.spec.load import load_spec

    spec = load_spec(args.spec, args.overrides)
    translation_only(spec, "preprocess")
    data = prepare_data(spec, workers=args.workers)
    counts = data.slices.facts["counts"]
    built = ", ".join(f"{stage} {key[:12]}" for stage, key in data.built) or "nothing (all cached)"
    print(f"{spec.name}: {len(data.preprocess_keys)} subjects, slices train/val/test = "
          f"{counts['train']}/{counts['val']}/{counts['test']}")
    print(f"  built: {built}")
    print(f"  slices: {len(data.slices.entries)} entries (one per subject) under {data.store.root / 'slices'}")
    for subject, reason in data.skipped.items():
        print(f"  skipped {subject}: {reason}")
    return 0


def qc_report(args: argparse.Namespace) -> int:
    from mrsynth.data.prepare import prepare_data
    from mrsynth.motion.scorer import qc_motion_scores
    from mrsynth.paths import project_root
    from mrsynth.qc.filter import apply_qc, qc_summary
    from mrsynth.qc.report import write_report
    from mrsynth.spec.load import load_spec

    spec = load_spec(args.spec, args.overrides)
    translation_only(spec, "qc")
    data = prepare_data(spec)
    table = apply_qc(data.slices.table(), spec.experiment.data.qc, qc_motion_scores(data, spec.experiment.data.qc))
    out = args.out or project_root() / "reports" / spec.name / "qc"
    write_report(table, out, data.volumes, worst_n=args.worst, axis=spec.experiment.data.slicing.axis)
    summary = qc_summary(table)
    flagged = int(table["flagged"].sum())
    print(f"{spec.name}: {flagged} of {len(table)} slice pairs flagged")
    print(summary.to_string(index=False))
    print(f"report: {out / 'index.html'}")
    return 0


def qc_pair(args: argparse.Namespace) -> int:
    from mrsynth.qc.pair import qc_pair as run_qc_pair

    qc = _qc_from_overrides(args.overrides)
    max_offset = args.max_offset if args.max_offset is not None else qc.max_offset
    table = run_qc_pair(args.source, args.target, args.out, args.source_mask, args.target_mask,
                        axis=args.axis, max_offset=max_offset, qc=qc, figures=not args.no_figures)
    print(f"{int(table['flagged'].sum())} of {len(table)} slices flagged; wrote {args.out / 'qc.csv'}")
    return 0


def _qc_from_overrides(overrides: list[str]):
    """A QC section from `--set data.qc.X=V` overrides, validated like a spec."""
    from mrsynth.spec.qc import QCSpec

    if not overrides:
        return QCSpec()  # the spec loader (every spec model) is imported only to read overrides
    from mrsynth.errors import SpecError
    from mrsynth.spec.load import apply_override, parse_override

    data: dict = {}
    for text in overrides:
        loc, value = parse_override(text)
        if loc[:2] != ("data", "qc") or len(loc) != 3:
            raise SpecError([f"--set {text}: qc-pair only takes data.qc.<threshold> overrides"])
        apply_override(data, loc[2:], value, f"--set {text}")
    from pydantic import ValidationError

    from mrsynth.spec.messages import validation_problems

    try:
        return QCSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(validation_problems(exc.errors(), data, lambda loc: "--set")) from None


def _store():
    from mrsynth.cache import CacheStore
    from mrsynth.paths import cache_dir

    return CacheStore(cache_dir())


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def cache_ls(args: argparse.Namespace) -> int:
    entries = _store().entries()
    if not entries:
        print("cache is empty")
    differences = _setting_differences(entries)
    for entry in entries:
        meta = entry.manifest.get("meta", {})
        what = meta.get("subject") or meta.get("volume") or f"{len(meta.get('subjects', []))} subjects"
        differs = "  ".join(f"{k}={v}" for k, v in differences.get(entry.key, {}).items())
        print(f"{entry.stage:<11} {entry.key[:16]}  {_size(entry.size_bytes()):>10}  {what}  {differs}".rstrip())
    return 0


def _setting_differences(entries) -> dict[str, dict[str, object]]:
    """For entries of one stage and subject: the settings in which they differ (two skull strips of one subject
    used to print as two identical lines)."""
    from mrsynth.tracking import flatten

    groups: dict[tuple, list] = {}
    for entry in entries:
        meta = entry.manifest.get("meta", {})
        groups.setdefault((entry.stage, meta.get("subject") or meta.get("volume") or tuple(meta.get("subjects", []))), []).append(entry)
    differences = {}
    for group in groups.values():
        settings = {e.key: flatten(e.manifest.get("meta", {}).get("settings") or {}) for e in group}
        names = sorted({n for s in settings.values() for n in s})
        varying = [n for n in names if len({repr(s.get(n)) for s in settings.values()}) > 1] if len(group) > 1 else []
        differences.update({key: {n: s.get(n) for n in varying} for key, s in settings.items()})
    return differences


def cache_du(args: argparse.Namespace) -> int:
    totals: dict[str, tuple[int, int]] = {}
    for entry in _store().entries():
        count, size = totals.get(entry.stage, (0, 0))
        totals[entry.stage] = (count + 1, size + entry.size_bytes())
    for stage, (count, size) in sorted(totals.items()):
        print(f"{stage:<11} {count:>4} entries  {_size(size):>10}")
    print(f"{'total':<11} {sum(c for c, _ in totals.values()):>4} entries  {_size(sum(s for _, s in totals.values())):>10}")
    return 0


def referenced_keys(specs: list[Path]) -> set[str]:
    """Cache keys the given specs resolve to, computed without building anything."""
    from mrsynth.data.layouts import subject_table
    from mrsynth.data.preprocessed import fingerprints, preprocess_key
    from mrsynth.data.slices import slices_key
    from mrsynth.errors import MrsynthError
    from mrsynth.spec.load import load_spec

    keys: set[str] = set()
    for path in specs:
        try:
            spec = load_spec(path)
            if spec.kind == "motion_qc":
                from mrsynth.motion.generate import motion_cache_keys

                keys.update(motion_cache_keys(spec))
                continue
            data = spec.experiment.data
            table = subject_table(data.dataset, spec.base_dir)
            pre = {f.subject: preprocess_key(fingerprints(f, data.preprocess), data.preprocess) for f in table.subjects}
        except MrsynthError:
            continue  # a spec that does not load refers to nothing
        keys.update(pre.values())
        # every subject's slices entry, whatever its split (the split is not in the key)
        keys.update(slices_key(k, data.slicing, data.qc.max_offset, data.qc.bins) for k in pre.values())
    return keys


def cache_gc(args: argparse.Namespace) -> int:
    from mrsynth.cli.spec_cmds import default_specs

    store = _store()
    keep = referenced_keys(args.specs or default_specs())
    if args.dry_run:
        doomed = [e for e in store.entries() if e.key not in keep]
        leftovers = store.leftovers()
        for entry in doomed:
            print(f"would remove {entry.stage} {entry.key[:16]}")
        for path in leftovers:
            print(f"would remove leftover {path.parent.name}/{path.name}")
        print(f"{len(doomed)} entries and {len(leftovers)} leftovers of killed builds would be removed")
        return 0
    removed, leftovers = store.gc(keep)
    for entry in removed:
        print(f"removed {entry.stage} {entry.key[:16]}")
    print(f"removed {len(removed)} entries and {len(leftovers)} leftovers of killed builds")
    return 0
