"""Random JSON and random mutations of valid specs either load or raise SpecError — nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrsynth.errors import SpecError
from mrsynth.spec.load import load_spec

REPO = Path(__file__).resolve().parents[2]
VALID = [json.loads(p.read_text()) for p in sorted((REPO / "experiments").glob("*.json")) if "extends" not in json.loads(p.read_text())]

scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


def paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths(value, prefix + (key,))


def mutate(data, path, value):
    if not path:
        return value
    data = json.loads(json.dumps(data))
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def load_or_spec_error(path: Path, text: str) -> None:
    path.write_text(text)
    try:
        load_spec(path)
    except SpecError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_random_json_raises_only_spec_error(tmp_path, value):
    load_or_spec_error(tmp_path / "random.json", json.dumps(value))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_mutations_of_valid_specs_raise_only_spec_error(tmp_path, data):
    spec = data.draw(st.sampled_from(VALID))
    path = data.draw(st.sampled_from(list(paths(spec))))
    value = data.draw(json_values)
    load_or_spec_error(tmp_path / "mutated.json", json.dumps(mutate(spec, path, value)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_random_text_raises_only_spec_error(tmp_path, text):
    load_or_spec_error(tmp_path / "text.json", text)
