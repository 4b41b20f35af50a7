"""The `mrsynth` command. Heavy libraries are imported inside commands so `--help` and `validate` stay instant."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback

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
    except BrokenPipeError:
        return _reader_went_away()
    except Exception as exc:  # a bug of ours: one line for the user, the traceback in a file for the report
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"mrsynth: internal error ({type(exc).__name__}) in `{args.command}`; this is a bug. The traceback is in "
              f"{_save_traceback()} (set {DEBUG_ENV}=1 to see it here)", file=sys.stderr)
        return 70  # EX_SOFTWARE


DEBUG_ENV = "MRSYNTH_DEBUG"


def _reader_went_away() -> int:
    """`mrsynth show x | head`: the reader closed the pipe; stop quietly, as `cat` does."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the interpreter's final flush must not fail
    except OSError:
        pass
    return 141  # 128 + SIGPIPE


def _save_traceback() -> str:
    path = os.path.join(tempfile.gettempdir(), f"mrsynth-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log")
    with open(path, "w", encoding="utf-8", errors="backslashreplace") as out:
        traceback.print_exc(file=out)
    return path


def run() -> None:
    code = main()
    try:
        sys.stdout.flush()  # a short output meets a closed pipe only here
    except BrokenPipeError:
        code = _reader_went_away()
    sys.exit(code)
