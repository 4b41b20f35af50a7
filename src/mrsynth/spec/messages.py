"""Turn pydantic's errors into `FILE: json.path: rule (got value)` lines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Loc = tuple[str | int, ...]
IMPLICIT_KINDS = ("paired",)  # a `loss` without `kind` is paired, and pydantic still puts the tag in its locations


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


_RULES = {
    "less_than_equal": lambda c: f"must be <= {_num(c['le'])}",
    "less_than": lambda c: f"must be < {_num(c['lt'])}",
    "greater_than_equal": lambda c: f"must be >= {_num(c['ge'])}",
    "greater_than": lambda c: f"must be > {_num(c['gt'])}",
    "extra_forbidden": lambda c: "unknown key",
    "missing": lambda c: "is required",
    "literal_error": lambda c: f"must be one of {c['expected']}",
    "string_pattern_mismatch": lambda c: f"must match {c['pattern']}",
    "union_tag_invalid": lambda c: f"unknown kind {c['tag']!r} (expected one of {c['expected_tags']})",
    "union_tag_not_found": lambda c: f"needs a {c['discriminator']} key",
}
# An unknown key's value is never echoed: a parent file may hold anything (a token), and it is not needed to fix it.
_NO_VALUE = {"missing", "union_tag_not_found", "value_error", "assertion_error", "extra_forbidden"}


def format_path(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def format_value(value: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def problem(source: str, loc: Sequence[str | int], rule: str, value: Any = None, show_value: bool = True) -> str:
    line = f"{source}: {format_path(loc)}: {rule}"
    return f"{line} (got {format_value(value)})" if show_value else line


def data_loc(loc: Loc, data: Any) -> Loc:
    """Drop the union tags pydantic inserts into locations (`model.generator.unet.depth` → `model.generator.depth`)."""
    kept: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, Mapping) and part not in node and node.get("kind", IMPLICIT_KINDS[0]) == part:
            continue
        kept.append(part)
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(kept)


def rule_text(error: Mapping[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in _RULES:
        try:
            return _RULES[kind](ctx)
        except KeyError:
            pass
    msg = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    msg = msg.replace("Input should be", "must be").replace("Input should have", "must have")
    return msg[:1].lower() + msg[1:]


def validation_problems(errors: Iterable[Mapping[str, Any]], data: Any, source_of) -> list[str]:
    """`source_of(loc)` names the file (or --set) that supplied the value at `loc`."""
    lines = []
    for error in errors:
        loc = data_loc(tuple(error["loc"]), data)
        show = error["type"] not in _NO_VALUE
        lines.append(problem(source_of(loc), loc, rule_text(error), error.get("input"), show))
    return lines
