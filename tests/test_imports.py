"""Import guards: a module in an import circle still imports when it is loaded first; motion never reaches train."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import mrsynth

PACKAGE = Path(mrsynth.__file__).parent


def module_names(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted name -> file of every module of the package (`__main__` runs the CLI, so it is left out)."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] != "__main__":
            names[".".join(parts).removesuffix(".__init__")] = path
    return names


def imported_names(path: Path, *, at_import_time: bool) -> set[str]:
    """Absolute names a file imports (`from a import b` gives a and a.b); `at_import_time` skips function bodies."""
    found: set[str] = set()
    pending: list[ast.AST] = [ast.parse(path.read_text())]
    while pending:
        node = pending.pop()
        if at_import_time and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; this guard reads absolute ones only"
            found.update([node.module, *(f"{node.module}.{alias.name}" for alias in node.names)])
        pending.extend(ast.iter_child_nodes(node))
    return found


def owning_module(name: str, modules) -> str | None:
    """The module a dotted name lives in (`mrsynth.qc.METRICS` -> `mrsynth.qc`), or None outside the package."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_time_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package modules its imports outside functions load.

    The package a module sits in is no edge unless imported by name: its `__init__` runs first whichever
    of its modules is asked for, so it cannot make one of them fail for being first."""
    modules = module_names(package)
    graph = {}
    for name, path in modules.items():
        graph[name] = {owning_module(n, modules) for n in imported_names(path, at_import_time=True)} - {name, None}
    return graph


def in_a_circle(graph: dict[str, set[str]]) -> list[str]:
    def reachable(start: str) -> set[str]:
        seen, pending = set(), list(graph[start])
        while pending:
            name = pending.pop()
            if name not in seen:
                seen.add(name)
                pending.extend(graph[name])
        return seen

    return sorted(name for name in graph if name in reachable(name))


def fresh_python(package: Path, code: str) -> subprocess.CompletedProcess:
    """Run `code` in a new interpreter that finds `package` first."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package.parent), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


def first_import_failures(package: Path) -> dict[str, str]:
    """Module -> error, for each module on an import circle that fails when a fresh interpreter loads it first.

    Only a module on a circle can fail for being first, so only those pay for an interpreter of their own."""
    failures = {}
    for name in in_a_circle(import_time_graph(package)):
        done = fresh_python(package, f"import {name}")
        if done.returncode:
            failures[name] = done.stderr[-2000:]
    return failures


def test_each_module_on_an_import_circle_imports_first_in_a_fresh_interpreter():
    assert sum(len(needs) for needs in import_time_graph().values()) > 100  # the graph reads the real imports
    failures = first_import_failures(PACKAGE)
    assert not failures, "\n".join(f"{name}:\n{error}" for name, error in failures.items())


def test_a_circle_that_breaks_the_first_import_is_reported(tmp_path):
    package = tmp_path / "loop"
    package.mkdir()
    for name, text in {"__init__": "", "a": "from loop.b import B\nA = 1\n", "b": "from loop.a import A\nB = 2\n",
                       "c": "from loop.a import A\n", "d": "import loop.c\n"}.items():
        (package / f"{name}.py").write_text(text)
    assert sorted(first_import_failures(package)) == ["loop.a", "loop.b"]  # c and d fail too, but only through a


def test_loading_every_motion_module_loads_nothing_of_train():
    motion = [name for name in module_names() if name.split(".")[:2] == ["mrsynth", "motion"]]
    script = ("import importlib, sys\n"
              f"for name in {motion!r}:\n    importlib.import_module(name)\n"
              "print(sorted(name for name in sys.modules if name.startswith('mrsynth.train')))")
    done = fresh_python(PACKAGE, script)
    assert len(motion) > 5 and (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr[-2000:]


def test_no_motion_module_imports_train_even_inside_a_function():
    motion = {name: path for name, path in module_names().items() if name.split(".")[:2] == ["mrsynth", "motion"]}
    reaching = {name: sorted(n for n in imported_names(path, at_import_time=False) if n.startswith("mrsynth.train"))
                for name, path in motion.items()}
    assert {name: found for name, found in reaching.items() if found} == {}


def test_no_circle_even_through_imports_inside_functions():
    """The circles the architecture review found (predict <-> train.evaluate, train.objective <-> train.unpaired)
    were imports inside functions, which loading a module never runs: read every import, wherever it sits."""
    modules = module_names()
    graph = {name: {owning_module(n, modules) for n in imported_names(path, at_import_time=False)} - {name, None}
             - ancestors(name) for name, path in modules.items()}
    assert sum(len(needs) for needs in graph.values()) > 300
    assert in_a_circle(graph) == []


def ancestors(name: str) -> set[str]:
    """`mrsynth.qc.runs` -> {mrsynth, mrsynth.qc}: packages Python has initialised before the module runs at all,
    so `from mrsynth.qc import kernels` inside a function cannot close a circle through them."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}
