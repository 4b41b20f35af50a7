"""A seeded generator of hostile spec files: valid committed specs with one or two mutations each, at the level
of values (wrong types, non-finite numbers, huge integers, lone surrogates, deep nesting), keys (unknown,
missing, renamed kinds), `extends` (odd paths, cycles, directories, non-JSON files) and raw bytes (non-UTF-8,
truncation, BOM, binary junk)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPECS = {p.name: json.loads(p.read_text()) for p in sorted((REPO / "experiments").glob("*.json"))}

ODD_VALUES: list[Callable[[random.Random], object]] = [
    lambda r: None, lambda r: True, lambda r: r.randint(-(10**6), 10**6), lambda r: r.uniform(-1e6, 1e6),
    lambda r: 10 ** r.randint(19, 60), lambda r: -(10 ** r.randint(19, 60)), lambda r: "", lambda r: "x" * r.randint(200, 5000),
    lambda r: "\ud800", lambda r: "a\u0000b", lambda r: "caf\u00e9 \u2603", lambda r: [], lambda r: {},
    lambda r: [1, "a", None], lambda r: {"kind": "nope"}, lambda r: {"unknown": 1}, lambda r: -1, lambda r: 0,
    lambda r: 1e-300, lambda r: "../../etc/passwd", lambda r: "sub-01", lambda r: [[[[[]]]]],
]
RAW_LITERALS = ["Infinity", "-Infinity", "NaN", "1e400", "-1e400", "9" * 5000, "-" + "9" * 4400, "[" * 1000 + "]" * 1000]


def leaves(data, prefix=()) -> Iterator[tuple]:
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from leaves(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from leaves(value, (*prefix, i))


def set_at(data, loc, value):
    if not loc:
        return value
    node = data
    for key in loc[:-1]:
        node = node[key]
    node[loc[-1]] = value
    return data


def delete_at(data, loc):
    if loc:
        node = data
        for key in loc[:-1]:
            node = node[key]
        del node[loc[-1]]
    return data


class Mutator:
    """`mutate(folder, i)` writes the i-th hostile spec into `folder` (plus any file it names) and returns its path."""

    def __init__(self, seed: int):
        self.seed = seed

    def mutate(self, folder: Path, i: int) -> Path:
        r = random.Random(self.seed * 1_000_003 + i)
        name = r.choice(sorted(SPECS))
        data = json.loads(json.dumps(SPECS[name]))
        path = folder / f"m{i}.json"
        for _ in range(r.choice((1, 1, 2))):
            data = self._structural(r, data, folder, i)
        text = json.dumps(data, ensure_ascii=r.random() < 0.5)
        raw = self._textual(r, text)
        path.write_bytes(raw)
        return path

    def _structural(self, r: random.Random, data, folder: Path, i: int):
        locs = list(leaves(data))
        loc = r.choice(locs)
        kind = r.randrange(8)
        if kind == 0:
            return set_at(data, loc, r.choice(ODD_VALUES)(r))
        if kind == 1 and loc:
            return delete_at(data, loc)
        if kind == 2:
            parent = loc[:-1] if loc and isinstance(loc[-1], str) else loc
            node = data
            for key in parent:
                node = node[key]
            if isinstance(node, dict):
                node[r.choice(["bogus", "api_token", "kind", "extends", "$schema", "\ud800"])] = r.choice(ODD_VALUES)(r)
            return data
        if kind == 3:
            return set_at(data, loc, f"@@DEEP{r.choice((33, 200, 600, 2000))}@@")
        if kind == 4 and isinstance(data, dict):
            data["extends"] = self._extends(r, folder, i)
            return data
        if kind == 5 and isinstance(data, dict):
            data["kind"] = r.choice(["motion_qc", "translation", "nope", 3, None])
            return data
        if kind == 6:
            return set_at(data, loc, "@@RAW@@")
        return [data] if r.random() < 0.5 else r.choice(ODD_VALUES)(r)

    def _extends(self, r: random.Random, folder: Path, i: int) -> object:
        choice = r.randrange(10)
        if choice == 0:
            (folder / f"p{i}.json").write_text(json.dumps({"api_token": "s3cr3t", "loss": {"l1": "x"}}))
            return f"p{i}.json"
        if choice == 1:
            return f"m{i}.json"  # itself: a cycle
        if choice == 2:
            (folder / f"d{i}.json").mkdir(exist_ok=True)
            return f"d{i}.json"
        if choice == 3:
            (folder / f"b{i}.json").write_bytes(b"\xff\xfe\x00binary s3cr3t")
            return f"b{i}.json"
        return r.choice(["/bin/true", "/etc/passwd", "a\u0000b.json", "x" * 300 + ".json", "y" * 200_000 + ".json",
                         "missing.json", "", 7, None, ["a.json"]])

    def _textual(self, r: random.Random, text: str) -> bytes:
        text = text.replace('"@@RAW@@"', r.choice(RAW_LITERALS))
        text = re.sub(r'"@@DEEP(\d+)@@"', lambda m: "[" * int(m[1]) + "1" + "]" * int(m[1]), text)
        raw = text.encode("utf-8", "surrogatepass")
        kind = r.randrange(12)
        if kind == 0:
            cut = r.randrange(len(raw) + 1)
            return raw[:cut] + bytes([r.choice((0xE9, 0xFF, 0x80, 0xC3))]) + raw[cut:]
        if kind == 1:
            return raw[: r.randrange(len(raw) + 1)]
        if kind == 2:
            return b"\xef\xbb\xbf" + raw
        if kind == 3:
            return bytes(r.randrange(256) for _ in range(r.randrange(1, 200)))
        return raw
