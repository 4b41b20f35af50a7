"""One slices entry per subject: what adding a subject or moving one between splits builds, and how a
split's rows line up with the entries. Synthetic preprocessed volumes, written straight into the cache."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from mrsynth.cache import CacheStore
from mrsynth.data.preprocessed import SubjectVolumes
from mrsynth.data.slices import build_slices
from mrsynth.spec.data import SlicingSpec, SplitSpec

SHAPE = (24, 24, 10)
SLICING = SlicingSpec(size=(24, 24), min_brain_fraction=0.05)


def fake_volumes(store: CacheStore, subject: str) -> SubjectVolumes:
    """A preprocessed entry whose source slices carry the subject's number (so rows can be traced back)."""
    key = hashlib.sha256(f"fake-{subject}".encode()).hexdigest()

    def write(out):
        grid = np.stack(np.meshgrid(*(np.linspace(-1, 1, n) for n in SHAPE), indexing="ij"))
        brain = (np.square(grid[:2]).sum(axis=0) < 0.6)
        brain = np.repeat(brain[..., :1], SHAPE[2], axis=2)
        source = np.where(brain, int(subject) / 100 + grid[2] * 0.001, -1).astype(np.float32)
        for name, array in {"source": source, "target": -source, "source_mask": brain, "target_mask": brain,
                            "intersection": brain}.items():
            np.save(out / f"{name}.npy", array.astype(np.float32 if name in ("source", "target") else np.uint8))
        return {"shape": list(SHAPE), "affine": np.eye(4).tolist(), "source_scale": [0.0, 1.0], "target_scale": [0.0, 1.0]}

    entry = store.get_or_build("preprocess", key, write, {"subject": subject})
    return SubjectVolumes(subject, key, entry.path, entry.manifest["facts"])


def slices_built(store: CacheStore, since: int) -> list[str]:
    return [key for stage, key in store.builds[since:] if stage == "slices"]


@pytest.fixture
def store(tmp_path):
    return CacheStore(tmp_path / "cache")


def build(store: CacheStore, subjects: list[SubjectVolumes], split: SplitSpec):
    return build_slices(store, subjects, split, SLICING, max_offset=1, bins=16)


def test_adding_a_subject_to_eight_builds_exactly_one_slices_entry(store):
    volumes = [fake_volumes(store, f"{i:02d}") for i in range(1, 10)]
    build(store, volumes[:8], SplitSpec())
    since = len(store.builds)
    nine = build(store, volumes, SplitSpec())
    assert slices_built(store, since) == [nine.keys()["09"]]
    assert nine.facts["counts"]["train"] + nine.facts["counts"]["val"] + nine.facts["counts"]["test"] == 9 * SHAPE[2]


def test_moving_subjects_between_splits_builds_nothing(store):
    volumes = [fake_volumes(store, f"{i:02d}") for i in range(1, 9)]
    first = build(store, volumes, SplitSpec(seed=0))
    since = len(store.builds)
    moved = build(store, volumes, SplitSpec(val_subjects=["01", "02"], test_subjects=["03"]))
    assert slices_built(store, since) == []
    assert moved.keys() == first.keys() and moved.split_of != first.split_of
    assert moved.subjects("val") == ["01", "02"] and moved.facts["subjects"]["03"]["split"] == "test"


def test_a_splits_rows_are_its_subjects_slices_in_subject_order(store):
    volumes = [fake_volumes(store, f"{i:02d}") for i in range(1, 6)]
    slices = build(store, volumes, SplitSpec(val_subjects=["02"], test_subjects=["04"]))
    table = slices.table()
    assert list(table.columns[:4]) == ["subject", "split", "row", "slice"]
    assert table["subject"].tolist() == sorted(table["subject"])  # old layout: subjects in order, splits interleaved
    train = table[table["split"] == "train"]
    assert train["row"].tolist() == list(range(len(train))) and train["subject"].unique().tolist() == ["01", "03", "05"]
    source, target, masks = slices.arrays("train")
    assert source.shape == (len(train), 24, 24) and masks.shape == (len(train), 3, 24, 24)
    centre = np.asarray(source)[:, 12, 12]  # the subject's number / 100 plus a ramp along z
    np.testing.assert_allclose(np.floor(centre * 100 + 0.5), train["subject"].astype(int), atol=0)
    np.testing.assert_array_equal(np.asarray(target), -np.asarray(source))
