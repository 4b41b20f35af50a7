from __future__ import annotations

import json

import pytest

from mrsynth.cli import main
from mrsynth.errors import MrsynthError
from mrsynth.registry import find_records, iter_records, new_record, read_record, stale_hashes, write_record


def make(run_id, name="exp", digest="a" * 64, **fields):
    return new_record(run_id, name, digest, {"name": name}, **fields)


def test_write_and_read_round_trip(tmp_path):
    record = make("run1", metrics={"test/psnr_brain": 30.5}, status="FINISHED")
    path = write_record(record, tmp_path)
    assert path == tmp_path / "runs" / "exp" / "run1.json"
    assert read_record(path) == record
    assert [r["run_id"] for r in iter_records(tmp_path)] == ["run1"]


def test_rewrite_replaces_the_record_atomically(tmp_path):
    record = make("run1")
    write_record(record, tmp_path)
    write_record({**record, "status": "FAILED", "reason": "nan loss"}, tmp_path)
    (only,) = iter_records(tmp_path)
    assert only["status"] == "FAILED" and only["reason"] == "nan loss"
    assert not [p for p in (tmp_path / "runs" / "exp").iterdir() if p.suffix != ".json"]


def test_unknown_fields_and_status_rejected(tmp_path):
    with pytest.raises(ValueError):
        make("r", colour="red")
    with pytest.raises(ValueError):
        write_record(make("r", status="DONE"), tmp_path)


def test_find_by_name_hash_prefix_and_run_id(tmp_path):
    write_record(make("run-aaaaaaa1", name="one", digest="1" * 64), tmp_path)
    write_record(make("run-bbbbbbb2", name="two", digest="2" * 64), tmp_path)
    assert [r["spec_name"] for r in find_records("one", tmp_path)] == ["one"]
    assert [r["spec_name"] for r in find_records("222222", tmp_path)] == ["two"]
    assert [r["spec_name"] for r in find_records("run-bbbb", tmp_path)] == ["two"]
    assert find_records("22", tmp_path) == []


def test_stale_hashes(tmp_path):
    write_record(make("r1", digest="1" * 64), tmp_path)
    write_record(make("r2", digest="2" * 64), tmp_path)
    assert stale_hashes("exp", "2" * 64, tmp_path) == ["1" * 64]
    assert stale_hashes("other", "2" * 64, tmp_path) == []


def test_corrupt_record_is_a_clean_error(tmp_path):
    bad = tmp_path / "runs" / "exp" / "x.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    with pytest.raises(MrsynthError, match="x.json: unreadable registry record"):
        list(iter_records(tmp_path))


def test_cli_list_and_show(tmp_path, capsys):
    write_record(make("run-0123456789", name="alpha", status="FINISHED", metrics={"test/psnr_brain": 31.25}), tmp_path)
    assert main(["registry", "--root", str(tmp_path), "list"]) == 0
    out = capsys.readouterr().out
    assert "alpha" in out and "FINISHED" in out and "test/psnr_brain=31.25" in out
    assert "below best trivial baseline" not in out
    assert main(["registry", "--root", str(tmp_path), "show", "alpha", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["run_id"] == "run-0123456789"
    assert main(["registry", "--root", str(tmp_path), "show", "nothing"]) == 1
    assert "no run matches 'nothing'" in capsys.readouterr().err


def test_cli_list_flags_a_run_below_its_best_trivial_baseline(tmp_path, capsys):
    write_record(make("run-0123456789", name="flat", status="FINISHED",
                      metrics={"test/ssim_brain": 0.3, "baseline.beaten": 0.0}), tmp_path)
    assert main(["registry", "--root", str(tmp_path), "list"]) == 0
    assert "test/ssim_brain=0.3  below best trivial baseline" in capsys.readouterr().out


def test_validate_and_show_say_when_the_spec_changed(write_spec, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_spec("alpha", {"name": "alpha"})
    registry = tmp_path / "registry"
    monkeypatch.setenv("MRSYNTH_REGISTRY", str(registry))
    write_record(make("run-1234567", name="alpha", digest="f" * 64, spec_path="experiments/alpha.json"), registry)
    assert main(["validate", str(path)]) == 0
    assert "the spec has changed since" in capsys.readouterr().out
    assert main(["registry", "show", "alpha"]) == 0
    assert "the spec has changed since this run" in capsys.readouterr().out
