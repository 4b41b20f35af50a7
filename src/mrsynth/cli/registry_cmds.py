"""`registry list` / `registry show`: the durable record of runs, readable without a tracking server."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(commands) -> None:
    p = commands.add_parser("registry", help="list or show recorded runs",
                            description="Read the run registry (registry/runs, or $MRSYNTH_REGISTRY).")
    p.add_argument("--root", type=Path, default=None, help="registry folder (default: registry/ or $MRSYNTH_REGISTRY)")
    sub = p.add_subparsers(dest="registry_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="one line per run")
    ls.add_argument("--spec", default=None, help="only runs of this spec name")
    ls.set_defaults(handler=list_runs)
    show = sub.add_parser("show", help="the records of a spec name, spec hash or run id")
    show.add_argument("key", metavar="NAME|HASH|RUN_ID")
    show.add_argument("--json", action="store_true", help="print the full records as JSON")
    show.set_defaults(handler=show_runs)


def _headline(record: dict) -> str:
    metrics = record.get("metrics") or {}
    keys = [k for k in ("test/psnr_brain", "test/ssim_brain") if k in metrics]
    below = ["below best trivial baseline"] if metrics.get("baseline.beaten") == 0.0 else []
    return "  ".join([*(f"{k}={metrics[k]:.4g}" for k in keys), *below])


def list_runs(args: argparse.Namespace) -> int:
    from mrsynth.registry import iter_records

    records = [r for r in iter_records(args.root) if args.spec in (None, r["spec_name"])]
    if not records:
        print("no runs recorded")
        return 0
    print(f"{'started':<25} {'spec':<28} {'hash':<12} {'status':<9} {'run id':<12} metrics")
    for r in records:
        print(f"{r['started_at']:<25} {r['spec_name']:<28} {r['spec_hash'][:12]:<12} {r['status']:<9} {r['run_id'][:12]:<12} {_headline(r)}")
    return 0


def _current_hash(record: dict) -> str | None:
    from mrsynth.errors import SpecError
    from mrsynth.paths import project_root
    from mrsynth.spec.load import load_spec

    path = record.get("spec_path")
    if not path:
        return None
    path = project_root() / path
    try:
        return load_spec(path).spec_hash if path.is_file() else None
    except SpecError:
        return None


def show_runs(args: argparse.Namespace) -> int:
    from mrsynth.errors import MrsynthError
    from mrsynth.registry import find_records

    records = find_records(args.key, args.root)
    if not records:
        raise MrsynthError(f"registry: no run matches {args.key!r} (a spec name, or 6+ characters of a spec hash or run id)")
    if args.json:
        print(json.dumps(records, indent=2, sort_keys=True))
        return 0
    for r in records:
        print(f"run {r['run_id']}  spec {r['spec_name']}  hash {r['spec_hash'][:12]}  {r['status']}")
        print(f"  started {r['started_at']}  ended {r.get('ended_at')}  code {r.get('code_version', {}).get('commit')}")
        if r.get("reason"):
            print(f"  reason: {r['reason']}")
        for key, value in sorted((r.get("metrics") or {}).items()):
            print(f"  {key} = {value}")
        current = _current_hash(r)
        if current and current != r["spec_hash"]:
            print(f"  note: {r.get('spec_path')} now hashes to {current[:12]}; the spec has changed since this run")
    return 0
