"""No import circle between prediction and evaluation, and inference stays free of training and tracking."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mrsynth

INFERENCE = ("mrsynth.inference.slices", "mrsynth.inference.patches", "mrsynth.inference.split", "mrsynth.inference.volume")
FORBIDDEN = ("mrsynth.train.evaluate", "mrsynth.train.runner", "mrsynth.tracking", "mlflow")
SRC = Path(mrsynth.__file__).parents[1]


def loaded_after(*modules: str) -> set[str]:
    """The modules a fresh interpreter holds after importing `modules` in order."""
    code = f"import importlib, json, sys\nfor m in {list(modules)!r}: importlib.import_module(m)\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}  # this tree's package
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("order", [("mrsynth.predict", "mrsynth.train.evaluate"), ("mrsynth.train.evaluate", "mrsynth.predict")])
def test_predict_and_evaluate_import_in_either_order(order):
    assert set(order) <= loaded_after(*order, *INFERENCE)


def test_inference_loads_no_evaluation_runner_or_tracking():
    loaded = loaded_after(*INFERENCE)
    assert set(INFERENCE) <= loaded
    assert not [m for m in loaded if m.startswith(FORBIDDEN)]


@pytest.mark.parametrize("path", ["predict.py", *(f"inference/{m.rsplit('.', 1)[1]}.py" for m in INFERENCE)])
def test_no_import_of_evaluation_or_runner_even_inside_functions(path):
    tree = ast.parse((SRC / "mrsynth" / path).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {m for m in imported if m and m.startswith(FORBIDDEN[:2])}
