"""Read a spec file: follow `extends`, apply `--set` overrides, validate, report every problem at once."""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mrsynth.errors import SpecError
from mrsynth.spec.experiment import NAME_PATTERN, Experiment
from mrsynth.spec.jsontext import decode, is_unicode, parse_text, printable, value_problems
from mrsynth.spec.messages import Loc, format_value, problem, validation_problems
from mrsynth.spec.motion import MotionQCExperiment, motion_problems
from mrsynth.spec.rules import cross_field_problems

# Spec values that are file paths, relative to the spec file that declares them.
PATH_KEYS: tuple[Loc, ...] = (("data", "dataset", "root"), ("data", "dataset", "csv"), ("data", "exclude"),
                              ("transfer", "labels"))
SCHEMA_KEY = "$schema"
# The top-level `kind` picks the experiment class; a translation spec may omit it (and its hash never includes it).
KINDS = {"translation": Experiment, "motion_qc": MotionQCExperiment}
DEFAULT_KIND = "translation"
MAX_EXTENDS_CHARS = 1024


@dataclass(frozen=True)
class LoadedSpec:
    path: Path
    experiment: Experiment | MotionQCExperiment
    chain: tuple[Path, ...]  # the spec file first, then its parents
    overrides: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return "motion_qc" if isinstance(self.experiment, MotionQCExperiment) else DEFAULT_KIND

    @property
    def name(self) -> str:
        return self.experiment.name

    @property
    def spec_hash(self) -> str:
        return self.experiment.spec_hash

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve_path(self, value: str) -> Path:
        """A path from the spec, made absolute against the spec's folder."""
        return (self.base_dir / value).resolve()


def display(path: Path) -> str:
    """Relative to the working directory when the file lies below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def read_json(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError([f"{display(path)}: cannot read: {exc.strerror or exc}"]) from None
    try:
        data = parse_text(decode(raw, display(path)), display(path))
    except json.JSONDecodeError as exc:
        raise SpecError([f"{display(path)}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}"]) from None
    if not isinstance(data, dict):
        raise SpecError([f"{display(path)}: (top level): must be a JSON object (got {type(data).__name__})"])
    return data


def extends_chain(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The spec and its ancestors, child first; a cycle is reported with the whole chain."""
    chain: list[tuple[Path, dict[str, Any]]] = []
    current = path.resolve()
    while True:
        if any(current == seen for seen, _ in chain):
            names = " -> ".join(display(p) for p, _ in chain) + f" -> {display(current)}"
            raise SpecError([f"{display(path)}: extends: cycle: {names}"])
        data = read_json(current)
        chain.append((current, data))
        parent = data.get("extends")
        if parent is None:
            return chain
        current = _parent_file(current, parent)


def _parent_file(child: Path, parent: Any) -> Path:
    """The file `extends` names: a .json path of sane length, resolved against the child's folder."""
    where = display(child)
    ok = isinstance(parent, str) and parent.endswith(".json") and len(parent) <= MAX_EXTENDS_CHARS and "\0" not in parent
    if not ok:
        raise SpecError([problem(where, ("extends",), f"must be a path to a .json spec file of at most {MAX_EXTENDS_CHARS} "
                                 "characters", parent if isinstance(parent, str) and len(parent) <= 200 else None,
                                 show_value=isinstance(parent, str) and len(parent) <= 200)])
    try:
        path = (child.parent / parent).resolve()
        found = path.is_file()
    except (OSError, ValueError) as exc:
        raise SpecError([problem(where, ("extends",), f"cannot open ({getattr(exc, 'strerror', None) or 'bad path'})",
                                 parent)]) from None
    if not found:
        raise SpecError([problem(where, ("extends",), "no such spec file", parent)])
    return path


def rebase_paths(data: dict[str, Any], from_dir: Path, to_dir: Path) -> None:
    """Keep inherited relative paths pointing at the same files from the child's folder."""
    for loc in PATH_KEYS:
        parent = _get(data, loc[:-1])
        value = parent.get(loc[-1]) if isinstance(parent, dict) else None
        if isinstance(value, str) and not os.path.isabs(value) and from_dir != to_dir:
            parent[loc[-1]] = os.path.relpath(from_dir / value, to_dir)


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge; lists and scalars are replaced; a section whose `kind` changes is replaced whole."""
    out = dict(base)
    for key, value in override.items():
        old = out.get(key)
        same_kind = not (isinstance(value, dict) and "kind" in value and isinstance(old, dict) and old.get("kind") != value["kind"])
        if isinstance(value, dict) and isinstance(old, dict) and same_kind:
            out[key] = merge(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def leaf_paths(data: Any, prefix: Loc = ()) -> list[Loc]:
    if isinstance(data, dict) and data:
        return [p for k, v in data.items() for p in leaf_paths(v, prefix + (k,))]
    return [prefix]


def parse_override(text: str, label: str | None = None) -> tuple[Loc, Any]:
    label = label or f"--set {printable(text)}"
    path, sep, raw = text.partition("=")
    if not sep or not path.strip():
        raise SpecError([f"{label}: must look like dotted.path=value"])
    if not is_unicode(path):
        raise SpecError([f"{label}: the dotted path is not valid Unicode text"])
    loc = tuple(path.strip().split("."))
    try:
        return loc, parse_text(raw, label, loc)
    except json.JSONDecodeError:
        problems = value_problems(raw, label, loc)  # bare words are strings: --set masking.kind=intersection
    if problems:
        raise SpecError(problems)
    return loc, raw


def apply_override(data: dict[str, Any], loc: Loc, value: Any, label: str) -> list[Loc]:
    """Set `loc` to `value`; returns the locations of the objects it had to create (they come from --set too)."""
    node = data
    created: list[Loc] = []
    for i, key in enumerate(loc[:-1]):
        if key not in node:
            created.append(loc[: i + 1])
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise SpecError([f"{label}: {'.'.join(map(str, loc[: i + 1]))}: is not an object (got {format_value(child)})"])
        node = child
    if loc[-1] == "kind" and len(loc) > 1 and node.get("kind") != value:
        node.clear()  # a new kind starts from its own defaults, as with `extends`
    node[loc[-1]] = value
    return created


def resolve_raw(path: Path, overrides: tuple[str, ...] = ()) -> tuple[dict[str, Any], dict[Loc, str]]:
    """The merged spec data before validation, and which file (or --set) supplied each value."""
    chain = extends_chain(path)
    main_dir = chain[0][0].parent
    merged: dict[str, Any] = {}
    origins: dict[Loc, str] = {}
    for file, data in reversed(chain):
        data = copy.deepcopy(data)
        data.pop(SCHEMA_KEY, None)
        rebase_paths(data, file.parent, main_dir)
        merged = merge(merged, data)
        origins.update({loc: display(file) for loc in leaf_paths(data)})
    merged["extends"] = chain[0][1].get("extends")
    root_name = chain[-1][1].get("name")
    if "family" not in merged and isinstance(root_name, str) and re.fullmatch(NAME_PATTERN, root_name):
        merged["family"] = root_name
    for text in overrides:
        label = f"{display(path)} (--set {printable(text)})"
        loc, value = parse_override(text, label)
        for created in apply_override(merged, loc, value, label):
            origins[created] = label
        origins[loc] = label
    return merged, origins


def origin_finder(origins: dict[Loc, str], default: str):
    def source_of(loc: Loc) -> str:
        for end in range(len(loc), 0, -1):
            if loc[:end] in origins:
                return origins[loc[:end]]
        return default

    return source_of


def experiment_class(data: dict[str, Any], source_of) -> type[Experiment] | type[MotionQCExperiment]:
    kind = data.get("kind", DEFAULT_KIND)
    if not isinstance(kind, str) or kind not in KINDS:
        raise SpecError([problem(source_of(("kind",)), ("kind",), f"unknown experiment kind (expected one of {list(KINDS)})", kind)])
    return KINDS[kind]


def validate_data(data: dict[str, Any], source_of) -> Experiment | MotionQCExperiment:
    cls = experiment_class(data, source_of)
    if cls is Experiment:
        data = {k: v for k, v in data.items() if k != "kind"}  # keeps translation hashes as they were
    try:
        experiment = cls.model_validate(data)
    except ValidationError as exc:
        raise SpecError(validation_problems(exc.errors(), data, source_of)) from None
    rules = cross_field_problems if cls is Experiment else motion_problems
    problems = [problem(source_of(loc), loc, rule, value) for loc, rule, value in rules(experiment)]
    if problems:
        raise SpecError(problems)
    return experiment


def load_spec(path: str | Path, overrides: tuple[str, ...] | list[str] = ()) -> LoadedSpec:
    """Load, resolve and validate one spec; raises SpecError listing every problem."""
    path = Path(path)
    overrides = tuple(overrides)
    data, origins = resolve_raw(path, overrides)
    experiment = validate_data(data, origin_finder(origins, display(path)))
    chain = tuple(p for p, _ in extends_chain(path))
    return LoadedSpec(path=path.resolve(), experiment=experiment, chain=chain, overrides=overrides)


def _get(data: Any, loc: Loc) -> Any:
    for key in loc:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
