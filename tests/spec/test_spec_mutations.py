"""Hostile specs by the thousand: the loader raises only SpecError, and the CLI never shows a traceback."""

from __future__ import annotations

import collections
import subprocess
import sys

import pytest
from spec_mutations import Mutator

from mrsynth.cli import main
from mrsynth.errors import SpecError
from mrsynth.spec.load import load_spec

pytestmark = pytest.mark.slow


def test_ten_thousand_mutated_specs_load_or_raise_spec_error(tmp_path):
    mutator = Mutator(seed=20261206)
    crashes: dict[str, list[int]] = collections.defaultdict(list)
    outcomes = collections.Counter()
    for i in range(10_000):
        path = mutator.mutate(tmp_path, i)
        try:
            load_spec(path)
            outcomes["accepted"] += 1
        except SpecError as exc:
            assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
            outcomes["refused"] += 1
        except Exception as exc:  # noqa: BLE001 - exactly what this test counts
            crashes[f"{type(exc).__name__}: {str(exc)[:80]}"].append(i)
        path.unlink()
    assert not crashes, {k: v[:5] for k, v in crashes.items()}
    assert outcomes["refused"] > 5_000 and outcomes["accepted"] > 100  # the mutations bite, and some stay valid


def test_mutated_specs_through_the_cli_never_show_a_traceback(tmp_path, capsys):
    mutator = Mutator(seed=7)
    for i in range(300):
        path = mutator.mutate(tmp_path, i)
        command = ["validate", str(path)] if i % 2 else ["show", str(path), "--set", "train.epochs=2"]
        code = main(command)
        out, err = capsys.readouterr()
        assert code in (0, 1), (i, code, err[-500:])
        assert "Traceback" not in err + out and "internal error" not in err, (i, err[-500:])
        assert "s3cr3t" not in err, (i, err[-300:])


def test_mutated_specs_in_a_real_process_exit_cleanly(tmp_path):
    mutator = Mutator(seed=11)
    paths = [str(mutator.mutate(tmp_path, i)) for i in range(40)]
    for path in paths:
        done = subprocess.run([sys.executable, "-m", "mrsynth", "validate", path], capture_output=True, timeout=120)
        err = done.stderr.decode("utf-8", "replace")
        assert done.returncode in (0, 1) and "Traceback" not in err, (path, err[-500:])
