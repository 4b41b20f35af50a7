"""`validate`, `show`, `schema`: specs as data."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mrsynth.errors import SpecError


def add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
        help="override one spec value, e.g. --set data.qc.min_ncc=0.3 (VALUE is parsed as JSON, else taken as text); repeatable",
    )


def register(commands) -> None:
    p = commands.add_parser("validate", help="check specs (default: every experiments/*.json)",
                            description="Resolve and validate specs. Prints `ok  NAME  HASH12` per valid spec; exit 0 only if all are valid.")
    p.add_argument("specs", nargs="*", type=Path, metavar="SPEC")
    add_set_option(p)
    p.set_defaults(handler=validate)

    p = commands.add_parser("show", help="print the resolved spec as JSON",
                            description="Print the resolved spec (inheritance applied, defaults filled) as JSON.")
    p.add_argument("spec", type=Path, metavar="SPEC")
    add_set_option(p)
    p.add_argument("--hash", action="store_true", help="print only the spec hash")
    p.set_defaults(handler=show)

    p = commands.add_parser("schema", help="write registry/schema.json (or --check it)",
                            description="Export the spec's JSON Schema for editors; --check exits 1 when the committed file is stale.")
    p.add_argument("--check", action="store_true", help="do not write; fail if the file differs from the code")
    p.add_argument("--out", type=Path, default=None, help="schema file (default: registry/schema.json)")
    p.set_defaults(handler=schema)


def default_specs() -> list[Path]:
    from mrsynth.paths import experiments_dir

    return sorted(experiments_dir().glob("*.json"))


def validate(args: argparse.Namespace) -> int:
    from mrsynth.registry import stale_hashes
    from mrsynth.spec.load import load_spec

    specs = args.specs or default_specs()
    if not specs:
        raise SpecError(["no specs given and none in experiments/"])
    failed = 0
    for path in specs:
        try:
            spec = load_spec(path, args.overrides)
        except SpecError as exc:
            failed += 1
            for line in exc.problems:
                print(f"mrsynth: {line}", file=sys.stderr)
            continue
        print(f"ok  {spec.name}  {spec.spec_hash[:12]}")
        for old in stale_hashes(spec.name, spec.spec_hash):
            print(f"    note: registered runs of {spec.name} used spec {old[:12]}; the spec has changed since")
    return 1 if failed else 0


def show(args: argparse.Namespace) -> int:
    from mrsynth.spec.load import load_spec

    spec = load_spec(args.spec, args.overrides)
    if args.hash:
        print(spec.spec_hash)
    else:
        print(json.dumps(spec.experiment.resolved(), indent=2, sort_keys=True))
    return 0


def schema(args: argparse.Namespace) -> int:
    from mrsynth.paths import registry_dir
    from mrsynth.spec.schema import schema_text

    out = args.out or registry_dir() / "schema.json"
    text = schema_text()
    if args.check:
        current = out.read_text(encoding="utf-8") if out.is_file() else None
        if current != text:
            print(f"mrsynth: {out}: stale JSON Schema; run `mrsynth schema` and commit it", file=sys.stderr)
            return 1
        print(f"ok  {out}")
        return 0
    from mrsynth.fsutil import atomic_write_text

    atomic_write_text(out, text)
    print(f"wrote {out}")
    return 0
