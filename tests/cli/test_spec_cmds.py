from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mrsynth.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_validate_prints_ok_name_hash(write_spec, capsys):
    path = write_spec("good", {"name": "good"})
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    name, digest = out.split()[1:3]
    assert out.startswith("ok  good  ") and name == "good" and len(digest) == 12


def test_validate_exit_1_and_errors_on_stderr(write_spec, capsys):
    good = write_spec("good", {"name": "good"})
    bad = write_spec("bad", {"name": "bad", "data": {"qc": {"min_ncc": 1.7}}})
    assert main(["validate", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    assert "ok  good" in captured.out
    assert "mrsynth: " in captured.err and "bad.json: data.qc.min_ncc: must be <= 1 (got 1.7)" in captured.err
    assert "Traceback" not in captured.err


def test_validate_defaults_to_every_committed_spec(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["validate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = {line.split()[1] for line in lines if line.startswith("ok")}
    assert names == {json.loads(p.read_text())["name"] for p in (REPO / "experiments").glob("*.json")}


def test_validate_with_set(write_spec, capsys):
    path = write_spec("good", {"name": "good"})
    assert main(["validate", str(path), "--set", "data.qc.min_ncc=2"]) == 1
    assert "(--set data.qc.min_ncc=2): data.qc.min_ncc: must be <= 1 (got 2)" in capsys.readouterr().err


def test_show_prints_resolved_json(write_spec, capsys):
    write_spec("base", {"name": "base", "loss": {"l1": 7.0}})
    child = write_spec("child", {"name": "child", "extends": "base.json"})
    assert main(["show", str(child)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["loss"]["l1"] == 7.0 and shown["name"] == "child" and "extends" not in shown


def test_missing_spec_file_is_a_clean_error(tmp_path, capsys):
    assert main(["show", str(tmp_path / "nope.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mrsynth: ") and "nope.json: cannot read" in err


def test_schema_check_detects_stale_file(tmp_path, capsys):
    out = tmp_path / "schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert main(["schema", "--check", "--out", str(out)]) == 0
    schema = json.loads(out.read_text())
    assert "$schema" in schema["properties"] and "data" in schema["$defs"]["Experiment"]["properties"]
    out.write_text(out.read_text().replace("Resumes", "x") + " ")
    assert main(["schema", "--check", "--out", str(out)]) == 1
    assert "stale" in capsys.readouterr().err


def test_committed_schema_is_current(capsys):
    assert main(["schema", "--check", "--out", str(REPO / "registry" / "schema.json")]) == 0


def test_schema_carries_field_docs():
    from mrsynth.spec.schema import spec_schema

    text = json.dumps(spec_schema())
    assert "Becomes a folder and the MLflow run name" in text


@pytest.mark.parametrize("argv", [["--help"], ["validate", "--help"]])
def test_help_does_not_import_heavy_libraries(argv):
    code = (
        "import sys\nfrom mrsynth.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'mlflow', 'ants', 'optuna') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "HEAVY="


def test_validate_does_not_import_heavy_libraries():
    code = (
        "import sys\nfrom mrsynth.cli import main\n"
        "rc = main(['validate'])\n"
        "heavy = [m for m in ('torch', 'mlflow', 'ants', 'optuna') if m in sys.modules]\n"
        "print(f'rc={rc} HEAVY=' + ','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert done.stdout.strip().splitlines()[-1] == "rc=0 HEAVY="


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "validate" in capsys.readouterr().out
