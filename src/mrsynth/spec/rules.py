"""Rules that span sections; each problem is (JSON path, rule, value)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from mrsynth.spec.messages import Loc, data_loc, format_path, rule_text

if TYPE_CHECKING:
    from mrsynth.spec.experiment import Experiment
    from mrsynth.spec.search import SearchSpec

Problem = tuple[Loc, str, Any]
NOT_SEARCHABLE = ("name", "description", "extends", "family", "search")


def cross_field_problems(exp: Experiment) -> list[Problem]:
    problems = _pairing_problems(exp) + _mask_problems(exp) + _model_problems(exp) + _patch_problems(exp)
    if exp.search is not None:
        problems += search_problems(exp)
    return problems


def _pairing_problems(exp: Experiment) -> list[Problem]:
    if exp.data.dataset.paired or exp.loss.kind != "paired":
        return []
    rule = "an unpaired dataset (data.dataset.paired = false) needs an unpaired loss (kind 'nec' or 'cyclegan')"
    return [(("loss", "kind"), rule, exp.loss.kind)]


def _mask_problems(exp: Experiment) -> list[Problem]:
    strip = exp.data.preprocess.skull_strip.kind
    problems: list[Problem] = []
    dataset = exp.data.dataset
    if strip == "provided" and dataset.kind == "bids" and dataset.masks is None:
        problems.append(
            (("data", "preprocess", "skull_strip", "kind"), "'provided' needs masks, but data.dataset.masks is null", strip)
        )
    if exp.masking.kind != "none" and exp.loss.kind != "paired":
        rule = f"masking applies to paired reconstruction losses; loss.kind '{exp.loss.kind}' has none (use 'none')"
        problems.append((("masking", "kind"), rule, exp.masking.kind))
    return problems


def _size_factor(generator: Any) -> tuple[int, str]:
    """Input sides must be divisible by the generator's total down-sampling; and how to say so."""
    if generator.kind == "unet":
        return generator.size_multiple, f"2**model.generator.depth = {generator.size_multiple}"
    return generator.size_multiple, f"{generator.size_multiple} (the down-sampling of a '{generator.kind}' generator)"


def _sizes_that_work(size: tuple[int, ...], factor: int, generator: Any) -> str:
    """E.g. 'pad to [256, 256], or model.generator.depth <= 4 keeps [240, 240]'."""
    padded = [-(-side // factor) * factor for side in size]
    hint = f"pad to {padded} (slicing.size crops or pads)"
    if generator.kind == "unet":
        depth = 0
        while all(side % 2 ** (depth + 1) == 0 for side in size):
            depth += 1
        hint += f", or model.generator.depth <= {depth} keeps {list(size)}" if depth >= 1 else ""
    return hint


def _model_problems(exp: Experiment) -> list[Problem]:
    problems: list[Problem] = []
    factor, why = _size_factor(exp.model.generator)
    size = exp.data.slicing.size
    if any(side % factor for side in size):
        rule = f"each side must be divisible by {why}; {_sizes_that_work(size, factor, exp.model.generator)}"
        problems.append((("data", "slicing", "size"), rule, list(size)))
    if exp.loss.adversarial > 0 and exp.model.discriminator.kind == "none":
        rule = "an adversarial loss needs a discriminator, but model.discriminator.kind is 'none'"
        problems.append((("loss", "adversarial"), rule, exp.loss.adversarial))
    if exp.loss.adversarial == 0 and exp.loss.reconstruction_weight() == 0:
        problems.append((("loss",), "at least one loss weight must be > 0", exp.loss.model_dump()))
    return problems


def _patch_problems(exp: Experiment) -> list[Problem]:
    """3D patches and 3D generators go together, with the paired loss and a 3D-capable discriminator."""
    generator, patches = exp.model.generator, exp.data.patches
    dims = getattr(generator, "dims", 2)
    if patches is None:
        if dims == 3:
            return [(("model", "generator", "dims"), "a 3D generator needs data.patches (3D patch training)", dims)]
        return []
    problems: list[Problem] = []
    if dims != 3:
        rule = "3D patches need a 3D generator (kind 'dilated_fcn' with dims 3)"
        problems.append((("model", "generator", "kind"), rule, generator.kind))
    if exp.model.discriminator.kind == "patchgan":
        rule = "3D patches need a 3D discriminator (kind 'cnn' or 'none')"
        problems.append((("model", "discriminator", "kind"), rule, "patchgan"))
    if exp.loss.kind != "paired":
        problems.append((("loss", "kind"), "3D patches support the paired loss only", exp.loss.kind))
    return problems


def _lookup(data: Any, loc: Loc) -> tuple[bool, Any]:
    for key in loc:
        if not isinstance(data, dict) or key not in data:
            return False, None
        data = data[key]
    return True, data


def _set(data: dict[str, Any], loc: Loc, value: Any) -> dict[str, Any]:
    node = data
    for key in loc[:-1]:
        node = node[key]
    if loc[-1] == "kind" and node.get("kind") != value:
        node.clear()  # a new kind starts from its own defaults, as with --set and extends
    node[loc[-1]] = value
    return data


def _trial_values(dist: Any) -> list[Any]:
    if dist.kind == "categorical":
        return list(dist.choices)
    values = [dist.low, dist.high]
    return values + [(dist.low + dist.high) / 2] if dist.kind == "float" else values


def _substitution_error(base: dict[str, Any], loc: Loc, value: Any) -> str | None:
    """Validate the spec with `value` at `loc`; the first problem it causes, or None."""
    from mrsynth.spec.experiment import Experiment

    data = _set(copy.deepcopy(base), loc, value)
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        return f"{format_path(data_loc(tuple(error['loc']), data))}: {rule_text(error)}"
    problems = cross_field_problems(exp)
    return f"{format_path(problems[0][0])}: {problems[0][1]}" if problems else None


def search_problems(exp: Experiment) -> list[Problem]:
    search: SearchSpec = exp.search  # type: ignore[assignment]
    base = exp.model_dump(mode="json")
    base["search"] = None
    problems: list[Problem] = []
    if "mae" in search.objective and search.direction == "maximize":
        problems.append((("search", "direction"), f"{search.objective} is an error: minimize it", search.direction))
    for path, dist in search.space.items():
        where: Loc = ("search", "space", path)
        loc = tuple(path.split("."))
        found, current = _lookup(base, loc)
        if not found or loc[0] in NOT_SEARCHABLE:
            problems.append((where, "must name a searchable field of the spec", path))
            continue
        if isinstance(current, dict | list):
            problems.append((where, "must name a numeric or categorical field, not a section", path))
            continue
        numeric = isinstance(current, int | float) and not isinstance(current, bool)
        if dist.kind != "categorical" and current is not None and not numeric:
            problems.append((where, f"a {dist.kind} distribution needs a numeric field (its value is {current!r})", dist.kind))
            continue
        if dist.kind == "float" and isinstance(current, int) and not isinstance(current, bool):
            problems.append((where, "is an integer field: use kind 'int'", dist.kind))
            continue
        for value in _trial_values(dist):
            error = _substitution_error(base, loc, value)
            if error:
                problems.append((where, f"distribution does not fit the field: {path}={value!r} gives {error}", value))
                break
    return problems
