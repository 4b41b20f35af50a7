"""Input a spec loader must refuse by message, each with a case that crashed before: bytes that are not UTF-8,
deep nesting, huge integers, non-finite numbers, lone surrogates, odd `extends` values, and secrets in a parent."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mrsynth.errors import SpecError
from mrsynth.spec.load import load_spec

REPO = Path(__file__).resolve().parents[2]
MAIN = REPO / "experiments" / "3t7t-masked.json"


def spec_error(path: Path, overrides=()) -> str:
    with pytest.raises(SpecError) as caught:
        load_spec(path, overrides)
    return str(caught.value)


def write_bytes(tmp_path: Path, raw: bytes, name: str = "x.json") -> Path:
    path = tmp_path / name
    path.write_bytes(raw)
    return path


@pytest.mark.parametrize("raw, expected", [
    (b'{"name": "caf\xe9"}', "not UTF-8 text (invalid byte at offset 13)"),
    (b"[" * 1000 + b"]" * 1000, "nested more than 32 levels deep"),
    (b'{"name": "t", "train": {"seed": ' + b"9" * 5000 + b"}}", "train.seed: must be an integer that fits in 64 bits"),
    (b'{"name": "t", "train": {"seed": 99999999999999999999}}', "train.seed: must be an integer that fits in 64 bits"),
    (b'{"name": "t", "description": "\\ud800"}', "description: must be valid Unicode text"),
    (b'{"name": "t", "loss": {"l1": Infinity}}', "loss.l1: must be a finite number (got Infinity)"),
    (b'{"name": "t", "loss": {"l1": 1e400}}', "loss.l1: must be a finite number (got Infinity)"),
    (b'{"name": "t", "data": {"qc": {"min_mi": NaN}}}', "data.qc.min_mi: must be a finite number (got NaN)"),
])
def test_hostile_spec_files_are_refused_by_message(tmp_path, raw, expected):
    assert expected in spec_error(write_bytes(tmp_path, raw))


def test_deep_nesting_inside_a_value_names_its_path(tmp_path):
    deep: object = "x"
    for _ in range(500):
        deep = [deep]
    path = write_bytes(tmp_path, json.dumps({"name": "t", "description": deep}).encode())
    assert "description" + "[0]" * 31 + ": nested more than 32 levels deep" in spec_error(path)


@pytest.mark.parametrize("override, expected", [
    ("loss.l1=Infinity", "(--set loss.l1=Infinity): loss.l1: must be a finite number"),
    ("loss.l1=inf", "loss.l1: must be a finite number"),
    ("data.qc.min_mi=NaN", "data.qc.min_mi: must be a finite number"),
    ("train.seed=" + "9" * 5000, "train.seed: must be an integer that fits in 64 bits"),
    ("description=" + "[" * 1000, "description: nested more than 32 levels deep"),
    ("description=\udce9t\udce9", "description: must be valid Unicode text"),
])
def test_hostile_overrides_are_refused_by_message(override, expected):
    assert expected in spec_error(MAIN, [override])


def test_a_non_finite_number_never_hashes_like_null():
    """`min_mi: Infinity` used to hash as `null` while flagging every slice."""
    assert "must be a finite number" in spec_error(MAIN, ["data.qc.min_mi=1e999"])
    assert math.isfinite(load_spec(MAIN, ["data.qc.min_mi=0.1"]).experiment.data.qc.min_mi)


def test_a_new_key_from_set_is_blamed_on_the_set_option():
    message = spec_error(MAIN, ["data.newsection.x=1"])
    assert "(--set data.newsection.x=1): data.newsection: unknown key" in message


@pytest.mark.parametrize("extends, expected", [
    ("/bin/true", 'extends: must be a path to a .json spec file'),
    ("a\u0000b.json", "extends: must be a path to a .json spec file"),
    ("a" * 251 + ".json", "extends: cannot open (File name too long)"),
    ("a" * 1_000_000 + ".json", "extends: must be a path to a .json spec file of at most 1024 characters"),
    ("missing.json", "extends: no such spec file"),
])
def test_odd_extends_values_are_refused_by_message(tmp_path, extends, expected):
    path = write_bytes(tmp_path, json.dumps({"name": "t", "extends": extends}).encode())
    message = spec_error(path)
    assert expected in message and len(message) < 400


def test_extends_reads_only_json_files_and_never_echoes_a_parents_unknown_values(tmp_path):
    (tmp_path / "parent.json").write_text(json.dumps({"api_token": "s3cr3t-token-value"}))
    child = write_bytes(tmp_path, json.dumps({"name": "t", "extends": "parent.json"}).encode())
    message = spec_error(child)
    assert "parent.json: api_token: unknown key" in message and "s3cr3t" not in message
    (tmp_path / "secret.txt").write_text('{"api_token": "s3cr3t"}')
    child = write_bytes(tmp_path, json.dumps({"name": "t", "extends": "secret.txt"}).encode(), "c2.json")
    message = spec_error(child)
    assert "must be a path to a .json spec file" in message and "s3cr3t" not in message


def test_a_binary_file_named_json_is_refused_without_its_bytes(tmp_path):
    secret = b"\x7fELF\x02\x01\x01 s3cr3t \xff\xfe"
    message = spec_error(write_bytes(tmp_path, secret))
    assert "not UTF-8 text" in message and "s3cr3t" not in message and "ELF" not in message

