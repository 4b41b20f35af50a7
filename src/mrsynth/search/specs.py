"""Specs of a search: the searched spec, one spec per trial, and the best trial written back as a spec file."""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrsynth.errors import MrsynthError
from mrsynth.paths import project_root
from mrsynth.search.space import describe, nested, ordered
from mrsynth.spec.load import (
    LoadedSpec,
    apply_override,
    display,
    load_spec,
    origin_finder,
    parse_override,
    rebase_paths,
    resolve_raw,
    validate_data,
)
from mrsynth.spec.search import SearchSpec

NAME_LIMIT = 100


@dataclass(frozen=True)
class SearchBase:
    """The searched spec, resolved once: each trial starts from a copy of `raw`."""

    loaded: LoadedSpec
    raw: dict[str, Any]
    origins: dict[tuple, str]
    set_overrides: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def search(self) -> SearchSpec:
        return self.loaded.experiment.search  # type: ignore[return-value]


def load_search_base(path: str | Path, overrides: tuple[str, ...] = ()) -> SearchBase:
    loaded = load_spec(path, overrides)
    if loaded.experiment.search is None:
        raise MrsynthError(f"{display(loaded.path)}: has no `search` section: nothing to search "
                           "(add search.space, e.g. {\"data.qc.min_mi\": {\"kind\": \"float\", \"low\": 0, \"high\": 0.2}})")
    raw, origins = resolve_raw(Path(path), overrides)
    return SearchBase(loaded, raw, origins, tuple(overrides))


def trial_name(base: str, number: int) -> str:
    suffix = f".trial-{number}"
    return base[: NAME_LIMIT - len(suffix)] + suffix


def trial_spec(base: SearchBase, study: str, number: int, overrides: dict[str, Any]) -> LoadedSpec:
    """The searched spec with one trial's overrides, validated; raises SpecError naming the trial's values."""
    data = copy.deepcopy(base.raw)
    origins = dict(base.origins)
    for path, value in ordered(overrides):
        label = f"trial {number} ({path}={json.dumps(value)})"
        apply_override(data, tuple(path.split(".")), value, label)
        origins[tuple(path.split("."))] = label
    data["name"] = trial_name(base.name, number)
    data["description"] = f"trial {number} of search study {study}: {describe(overrides)}"
    data["search"] = None  # a trial is a plain run: its record carries no search section
    experiment = validate_data(data, origin_finder(origins, display(base.loaded.path)))
    texts = tuple(f"{path}={json.dumps(value)}" for path, value in overrides.items())
    return LoadedSpec(path=base.loaded.path, experiment=experiment, chain=base.loaded.chain, overrides=base.set_overrides + texts)


def best_overrides(base: SearchBase, params: dict[str, Any]) -> dict[str, Any]:
    """--set overrides of the search, then the trial's parameters (which win)."""
    values = {".".join(parse_override(text)[0]): parse_override(text)[1] for text in base.set_overrides}
    return {**values, **params}


def best_spec_data(base: SearchBase, out: Path, study: str, number: int, value: float, params: dict[str, Any]) -> dict[str, Any]:
    """A spec that `extends` the searched spec with the best trial's values and no `search` section."""
    out = out.resolve()
    search = base.search
    fragment = nested(best_overrides(base, params))
    rebase_paths(fragment, base.loaded.base_dir, out.parent)  # --set paths were relative to the searched spec
    data: dict[str, Any] = {}
    schema = project_root() / "registry" / "schema.json"
    if schema.is_file():
        data["$schema"] = os.path.relpath(schema, out.parent)
    data |= {
        "extends": os.path.relpath(base.loaded.path, out.parent),
        "name": best_name(base.name),
        "description": (f"Best trial {number} of search study {study} over {base.name} "
                        f"({search.objective} = {value:.6g}, {search.direction}): {describe(params)}. "
                        "Written by `mrsynth search`; `search` is null so this spec trains one configuration."),
    }
    data |= fragment
    data["search"] = None
    return data


def best_name(base: str) -> str:
    return base[: NAME_LIMIT - 5] + "-best"


def default_best_path(base: SearchBase) -> Path:
    return base.loaded.base_dir / f"{base.name}-best.json"


def write_best_spec(base: SearchBase, out: Path, study: str, number: int, value: float, params: dict[str, Any]) -> LoadedSpec:
    """Write the best spec and load it back: a file that does not validate is never left behind."""
    data = best_spec_data(base, out, study, number, value, params)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    try:
        loaded = load_spec(tmp)
    except MrsynthError:
        tmp.unlink()
        raise
    os.replace(tmp, out)
    return loaded


def comparable(resolved: dict[str, Any]) -> dict[str, Any]:
    """A resolved spec without the keys that only label it (a trial and the best spec differ only there)."""
    return {k: v for k, v in resolved.items() if k not in ("name", "description")}
