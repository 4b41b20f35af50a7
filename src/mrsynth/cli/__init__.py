"""The `mrsynth` command. Heavy libraries are imported inside commands so `--help` and `validate` stay instant."""

from __future__ import annotations

import argparse
import sys

from mrsynth.cli import data_cmds, motion_cmds, registry_cmds, search_cmds, spec_cmds, train_cmds
from mrsynth.errors import MrsynthError

GROUPS = (spec_cmds, data_cmds, train_cmds, search_cmds, registry_cmds, motion_cmds)

DESCRIPTION = """\
Configuration-as-data experiments for MRI image-to-image translation.

Every experiment is a JSON spec in experiments/. Typical session:
  mrsynth demo-data --out data/demo     generate the embedded demo dataset
  mrsynth validate                      check every spec in experiments/
  mrsynth show experiments/x.json       print the resolved spec
  mrsynth registry list                 runs recorded so far
Environment: MRSYNTH_REGISTRY (registry folder), MRSYNTH_CACHE (cache folder),
MLFLOW_TRACKING_URI (tracking store), MRSYNTH_HOME (project root).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mrsynth", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except MrsynthError as exc:
        for line in str(exc).splitlines() or ["error"]:
            print(f"mrsynth: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mrsynth: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    sys.exit(main())
