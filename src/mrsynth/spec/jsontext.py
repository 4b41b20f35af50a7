"""Spec JSON text → data, refusing up front what would otherwise crash later: bytes that are not UTF-8,
nesting deeper than any spec needs, numbers that are not finite or do not fit 64 bits, and strings that
are not valid Unicode (a lone surrogate cannot be hashed, logged or printed)."""

from __future__ import annotations

import json
import math
from typing import Any

from mrsynth.errors import SpecError
from mrsynth.spec.messages import Loc, problem

MAX_DEPTH = 32  # the deepest committed spec is 5 levels; deeper input is a mistake or an attack
MAX_INT_DIGITS = 19  # 64-bit integers; Python refuses > 4300 digits with a ValueError
INT64 = (-(2**63), 2**63 - 1)
MAX_SPEC_BYTES = 1 << 20
MAX_PROBLEMS = 20


class _LongInteger:
    """Stands in for an integer literal too long to convert, so the walk can name its JSON path."""


def parse_text(text: str, source: str, prefix: Loc = ()) -> Any:
    """JSON text → data (found at `prefix` of a spec); raises json.JSONDecodeError for malformed JSON,
    SpecError for the rest."""
    try:
        data = json.loads(text, parse_int=_integer)
    except RecursionError:
        raise SpecError([problem(source, prefix, f"nested more than {MAX_DEPTH} levels deep", show_value=False)]) from None
    problems = value_problems(data, source, prefix)
    if problems:
        raise SpecError(problems)
    return data


def decode(raw: bytes, source: str) -> str:
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError([f"{source}: too large for a spec ({len(raw)} bytes; the limit is {MAX_SPEC_BYTES})"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError([f"{source}: not UTF-8 text (invalid byte at offset {exc.start}); save the spec as UTF-8"]) from None


def value_problems(data: Any, source: str, prefix: Loc = ()) -> list[str]:
    """Every value a spec may not hold, with its JSON path; iterative, so depth cannot overflow the stack."""
    problems: list[str] = []
    stack: list[tuple[Loc, Any]] = [(prefix, data)]
    while stack:
        loc, value = stack.pop()
        if len(loc) - len(prefix) > MAX_DEPTH:
            problems.append(problem(source, loc[: len(prefix) + MAX_DEPTH], f"nested more than {MAX_DEPTH} levels deep",
                                    show_value=False))
            continue
        rule = _scalar_rule(value)
        if rule:
            problems.append(problem(source, loc, rule, value, show_value=isinstance(value, float)))
        elif isinstance(value, dict):
            for key, child in value.items():
                if not is_unicode(key):
                    problems.append(problem(source, loc, "a key is not valid Unicode text (a lone surrogate)", show_value=False))
                else:
                    stack.append(((*loc, key), child))
        elif isinstance(value, list):
            stack.extend(((*loc, i), child) for i, child in enumerate(value))
    problems = sorted(set(problems))
    if len(problems) > MAX_PROBLEMS:
        problems = [*problems[:MAX_PROBLEMS], f"{source}: ... and {len(problems) - MAX_PROBLEMS} more such values"]
    return problems


def is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str, limit: int = 80) -> str:
    """Command-line text safe to print: no lone surrogates, no control characters, bounded length."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _scalar_rule(value: Any) -> str | None:
    if isinstance(value, _LongInteger) or (isinstance(value, int) and not isinstance(value, bool)
                                           and not INT64[0] <= value <= INT64[1]):
        return "must be an integer that fits in 64 bits"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if isinstance(value, str) and not is_unicode(value):
        return "must be valid Unicode text (has a lone surrogate)"
    return None


def _integer(literal: str) -> int | _LongInteger:
    return _LongInteger() if len(literal.lstrip("-")) > MAX_INT_DIGITS else int(literal)
