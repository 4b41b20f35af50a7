"""benchmarks/bench_gpu.py must run on a GPU machine whose python has torch, numpy, scipy, scikit-image, pandas,
numba and tqdm (and pydantic from .gpu-wheels/) but none of the project's other dependencies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
ABSENT_THERE = {"nibabel", "mlflow", "optuna", "ants", "deepbet", "sklearn", "matplotlib", "PIL", "psycopg2", "sqlalchemy"}


def test_what_the_gpu_benchmark_imports_is_on_a_bare_gpu_machine():
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import bench_gpu, gpu_cases, mrsynth.train.loop; "
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", code, str(BENCHMARKS)], capture_output=True, text=True,
                                check=True).stdout.split())
    assert {"gpu_cases", "torch", "pydantic"} <= loaded
    assert not loaded & ABSENT_THERE


def test_every_case_builds_its_networks_and_data_at_tiny_size(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import torch
    from gpu_cases import PAPER, experiment_data, tiny, training_set

    from mrsynth.spec.experiment import Experiment
    from mrsynth.train.build import build_networks

    for case in map(tiny, PAPER):
        exp = Experiment.model_validate(experiment_data(case, True, torch.device("cpu")))
        nets, data = build_networks(exp), training_set(case, steps=2)
        batch = next(iter(data.epoch_batches(case.batch, 0, 0, False)))
        assert tuple(batch.source.shape[2:]) == case.size and nets.generator(batch.source).shape == batch.source.shape
