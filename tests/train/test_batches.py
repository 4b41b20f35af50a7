"""Training batches streamed from per-subject cache entries: exactly the in-memory batches, without the copy."""

from __future__ import annotations

import tracemalloc
from itertools import islice
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from mrsynth.data.slice_set import SliceSet, SubjectSlices
from mrsynth.spec.experiment import Experiment
from mrsynth.train.batches import SliceArrays, UnpairedSlices, left_right_dim
from mrsynth.train.datasets import training_set

SIDE = 64
SUBJECTS = {"01": 18, "02": 10, "03": 24, "04": 14, "05": 3, "06": 4}  # slices per subject
SPLIT = {"01": "train", "02": "train", "03": "train", "04": "train", "05": "val", "06": "test"}


def write_subject(folder, subject: str, n: int) -> tuple[SubjectSlices, dict[str, np.ndarray]]:
    rng = np.random.default_rng(int(subject))
    arrays = {"source": rng.uniform(-1, 1, (n, SIDE, SIDE)).astype(np.float32),
              "target": rng.uniform(-1, 1, (n, SIDE, SIDE)).astype(np.float32),
              "masks": rng.integers(0, 2, (n, 3, SIDE, SIDE), dtype=np.uint8)}
    folder.mkdir(parents=True)
    for name, array in arrays.items():
        np.save(folder / f"{name}.npy", array)
    pd.DataFrame({"slice": np.arange(n)}).to_csv(folder / "qc_metrics.csv", index=False)
    return SubjectSlices(subject, f"key-{subject}", folder, {"count": n}), arrays


@pytest.fixture
def slices(tmp_path) -> tuple[SliceSet, dict[str, np.ndarray]]:
    """The cached slice set and, for comparison, its training split concatenated in memory."""
    written = {s: write_subject(tmp_path / s, s, n) for s, n in SUBJECTS.items()}
    slice_set = SliceSet({s: entry for s, (entry, _) in written.items()}, SPLIT, axis=2, size=(SIDE, SIDE))
    train = [written[s][1] for s in slice_set.subjects("train")]
    return slice_set, {name: np.concatenate([a[name] for a in train]) for name in ("source", "target", "masks")}


def kept_rows(n: int) -> np.ndarray:
    return np.flatnonzero(np.random.default_rng(5).random(n) < 0.7)  # a QC filter dropped some rows


def assert_same_batches(a, b) -> None:
    a, b = list(a), list(b)
    assert len(a) == len(b) > 1
    for x, y in zip(a, b, strict=True):
        for name in ("source", "target", "masks"):
            assert torch.equal(getattr(x, name), getattr(y, name)), name


@pytest.mark.parametrize("world", [1, 2])
@pytest.mark.parametrize("paired", [True, False])
def test_streamed_batches_are_the_in_memory_batches(slices, paired, world):
    slice_set, whole = slices
    rows = kept_rows(len(whole["source"]))
    streamed = SliceArrays(*slice_set.arrays("train"), rows, left_right_dim(2))
    in_memory = SliceArrays(whole["source"][rows], whole["target"][rows], whole["masks"][rows], np.arange(len(rows)))
    if not paired:
        subjects = np.repeat(slice_set.subjects("train"), [SUBJECTS[s] for s in slice_set.subjects("train")])[rows]
        streamed, in_memory = UnpairedSlices(streamed, subjects), UnpairedSlices(in_memory, subjects)
    for epoch in (0, 1):
        for rank in range(world):
            args = (4, 7, epoch, True, False, rank, world)
            assert_same_batches(streamed.epoch_batches(*args), in_memory.epoch_batches(*args))


@pytest.mark.parametrize("paired", [True, False])
def test_training_set_streams_without_copying_the_split(slices, paired):
    slice_set, whole = slices
    dataset = {"kind": "bids", "paired": paired}
    exp = Experiment.model_validate({"name": "t", "data": {"slicing": {"size": [SIDE, SIDE]}, "dataset": dataset}})
    rows = np.arange(len(whole["source"]))
    split_bytes = sum(a.nbytes for a in whole.values())
    tracemalloc.start()
    try:
        train = training_set(exp, SimpleNamespace(slices=slice_set), rows)
        batches = list(islice(train.epoch_batches(2, 0, 0, True), 3))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(train) == len(rows) and len(batches) == 3
    assert peak < split_bytes / 4, f"{peak} bytes traced while the split holds {split_bytes}"
