from __future__ import annotations

import numpy as np
import pytest

from mrsynth.data.slices import crop_or_pad, split_subjects, uncrop
from mrsynth.spec.data import SplitSpec


@pytest.mark.parametrize("shape", [(3, 70, 50), (2, 64, 64), (1, 40, 90)])
def test_crop_or_pad_round_trip(shape):
    rng = np.random.default_rng(0)
    stack = rng.normal(size=shape).astype(np.float32)
    out, offsets = crop_or_pad(stack, (64, 64), -1.0)
    assert out.shape == (shape[0], 64, 64)
    back = uncrop(out, offsets, shape[1:], -1.0)
    kept = tuple(slice(max(0, o), max(0, o) + min(s, 64)) for o, s in zip(offsets, shape[1:], strict=True))
    np.testing.assert_array_equal(back[(slice(None), *kept)], stack[(slice(None), *kept)])
    if shape[1] < 64:
        assert (out[:, : -offsets[0]] == -1).all()


def test_split_is_subject_level_deterministic_and_complete():
    subjects = [f"{i:02d}" for i in range(8)]
    a = split_subjects(subjects, SplitSpec(seed=3))
    assert a == split_subjects(subjects, SplitSpec(seed=3))
    assert sorted(a) == subjects
    counts = {s: list(a.values()).count(s) for s in ("train", "val", "test")}
    assert counts == {"train": 6, "val": 1, "test": 1}
    assert split_subjects(subjects, SplitSpec(seed=4)) != a


def test_small_datasets_still_get_each_split():
    split = split_subjects(["a", "b", "c"], SplitSpec())
    assert sorted(split.values()) == ["test", "train", "val"]


def test_explicit_split_lists():
    split = split_subjects(["a", "b", "c", "d"], SplitSpec(val_subjects=["b"], test_subjects=["d"]))
    assert split == {"a": "train", "b": "val", "c": "train", "d": "test"}


def test_explicit_split_with_unknown_subject_is_an_error():
    from mrsynth.errors import DataError

    with pytest.raises(DataError, match=r"\['zz'\]"):
        split_subjects(["a", "b", "c"], SplitSpec(val_subjects=["b"], test_subjects=["zz"]))


def test_a_bids_prefixed_subject_name_gets_a_hint():
    from mrsynth.errors import DataError

    with pytest.raises(DataError, match=r"\['sub-01'\].*without 'sub-'"):
        split_subjects(["01", "02", "03"], SplitSpec(val_subjects=["02"], test_subjects=["sub-01"]))
    with pytest.raises(DataError) as plain:
        split_subjects(["01", "02", "03"], SplitSpec(val_subjects=["02"], test_subjects=["sub-99"]))
    assert "without 'sub-'" not in str(plain.value)


def test_split_lists_must_come_together_and_not_overlap():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="both"):
        SplitSpec(val_subjects=["a"])
    with pytest.raises(ValidationError, match="cannot be in val and test"):
        SplitSpec(val_subjects=["a"], test_subjects=["a"])
