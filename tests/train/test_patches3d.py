"""3D patch training set: plain arrays, then the cached tiny demo."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

from mrsynth.data.npy_file import NpyFile
from mrsynth.errors import DataError
from mrsynth.train.patches3d import PatchSubject, PatchTrainingSet

SIZE = (12, 12, 12)


def coded_subject(name: str, shape: tuple[int, int, int], seed: int, kept: np.ndarray | None = None) -> PatchSubject:
    """Every voxel's source value is unique and inside (-1, 1); target = -source; masks from the signs and a blob."""
    rng = np.random.default_rng(seed)
    source = (rng.permutation(np.prod(shape)).reshape(shape) + 1) / (np.prod(shape) + 1) * 1.8 - 0.9
    source = source.astype(np.float32)
    grid = np.stack(np.meshgrid(*(np.linspace(-1, 1, n) for n in shape), indexing="ij"))
    brain = (np.square(grid).sum(axis=0) < 0.8).astype(np.uint8)  # reaches close to the faces: patches get padded
    masks = np.stack([source > 0, source < 0, brain]).astype(np.uint8)
    kept = np.arange(shape[2]) if kept is None else kept
    return PatchSubject(name, source, -source, masks, kept)


def make_set(per_subject: int = 8, axis: int = 2, kept: tuple | None = None) -> tuple[PatchTrainingSet, list[PatchSubject]]:
    shapes = [(20, 24, 18), (18, 16, 22), (10, 26, 20)]  # the last is thinner than a patch along x
    subjects = [coded_subject(f"s{i}", shape, i, None if kept is None else np.array(kept)) for i, shape in enumerate(shapes)]
    return PatchTrainingSet(subjects, SIZE, per_subject, axis), subjects


def as_arrays(batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return batch.source.numpy(), batch.target.numpy(), batch.masks.numpy()


def cut(volume: np.ndarray, centre: np.ndarray, size: tuple[int, ...], fill: float) -> np.ndarray:
    """The patch of (*lead, X, Y, Z) `volume` centred at `centre`, from the volume padded generously with `fill`."""
    pad = max(size)
    padded = np.pad(np.asarray(volume), [(0, 0)] * (volume.ndim - 3) + [(pad, pad)] * 3, constant_values=fill)
    corner = np.asarray(centre) - np.array(size) // 2 + pad
    return padded[(Ellipsis, *(slice(c, c + s) for c, s in zip(corner, size, strict=True)))]


def expected_patch(subject: PatchSubject, centre: np.ndarray, flip: bool) -> tuple[np.ndarray, np.ndarray]:
    """Source and target, and the masks, of a patch, flipped along x when asked."""
    images = cut(np.stack([subject.source, subject.target]), centre, SIZE, -1)
    masks = cut(np.asarray(subject.masks), centre, SIZE, 0)
    return (images[:, ::-1], masks[:, ::-1]) if flip else (images, masks)


def test_batches_are_a_pure_function_of_seed_and_epoch():
    first, _ = make_set()
    second, _ = make_set()  # rebuilt from scratch: no state carries over
    run = lambda s, seed, epoch: [as_arrays(b) for b in s.epoch_batches(4, seed, epoch, flips=True)]  # noqa: E731
    a, b = run(first, 3, 1), run(second, 3, 1)
    assert len(a) == len(first) // 4 == 6
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x, y, strict=True):
            np.testing.assert_array_equal(u, v)
    assert a[0][0].shape == (4, 1, *SIZE) and a[0][2].shape == (4, 3, *SIZE)
    assert a[0][0].dtype == np.float32 and a[0][2].dtype == np.float32 and set(np.unique(a[0][2])) <= {0.0, 1.0}
    assert not np.array_equal(a[0][0], run(first, 3, 2)[0][0])
    assert not np.array_equal(a[0][0], run(first, 4, 1)[0][0])


def test_each_subject_gets_its_share_of_patches_every_epoch():
    patches, _ = make_set(per_subject=5)
    plan = patches.plan(seed=0, epoch=0, flips=False)
    assert len(patches) == 15 and np.bincount(plan.subject).tolist() == [5, 5, 5] and not plan.flip.any()
    assert (np.diff(plan.subject) < 0).any()  # subjects are shuffled together, not served one after another
    longer = patches.plan(seed=0, epoch=0, flips=False, at_least=40)  # a global batch larger than an epoch
    assert len(longer.subject) >= 40 and np.ptp(np.bincount(longer.subject)) == 0


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_patch_centres_are_brain_voxels_on_kept_slices(axis):
    kept = (3, 7, 8)
    subjects = [coded_subject(f"s{i}", shape, i, np.array(kept)) for i, shape in enumerate([(20, 24, 18), (18, 16, 22)])]
    patches = PatchTrainingSet(subjects, SIZE, 50, axis)
    for epoch in range(3):
        plan = patches.plan(seed=1, epoch=epoch, flips=True)
        assert set(plan.centre[:, axis]) <= set(kept) and len(set(plan.centre[:, axis])) == len(kept)
        for index, subject in enumerate(subjects):
            centres = plan.centre[plan.subject == index]
            assert np.asarray(subject.masks)[2][tuple(centres.T)].all()
    batch = next(patches.epoch_batches(8, seed=1, epoch=0, flips=True))
    middle = tuple(s // 2 for s in SIZE)
    # the centre voxel sits at size // 2 of the patch, or mirrored along x when flipped
    assert all(m[2][middle] == 1 or m[2][(SIZE[0] - 1 - middle[0], *middle[1:])] == 1 for m in batch.masks.numpy())


def test_patches_match_the_volumes_with_background_padding_and_flips():
    patches, subjects = make_set(per_subject=30)
    plan = patches.plan(seed=2, epoch=0, flips=True)
    batch = patches.make_batch(plan, np.arange(len(plan.subject)))
    source, target, masks = as_arrays(batch)
    for i, (s, centre, flip) in enumerate(zip(plan.subject, plan.centre, plan.flip, strict=True)):
        images, want_masks = expected_patch(subjects[s], centre, flip)
        np.testing.assert_array_equal(source[i, 0], images[0])
        np.testing.assert_array_equal(target[i, 0], images[1])
        np.testing.assert_array_equal(masks[i], want_masks)
    inside = source > -1
    np.testing.assert_array_equal(target[inside], -source[inside])  # pairs stay aligned after flips
    np.testing.assert_array_equal(masks[:, :1][inside], (source[inside] > 0).astype(np.float32))
    assert (source == -1).any() and masks[source[:, 0][:, None].repeat(3, 1) == -1].max() == 0  # padding is background
    assert 0.2 < plan.flip.mean() < 0.8


def test_two_ranks_see_the_single_process_batches():
    patches, _ = make_set(per_subject=10)
    single = list(patches.epoch_batches(6, seed=5, epoch=2, flips=True))
    shards = [list(patches.epoch_batches(3, seed=5, epoch=2, flips=True, rank=r, world=2)) for r in (0, 1)]
    assert len(single) == len(shards[0]) == len(shards[1]) == 5
    for whole, part0, part1 in zip(single, *shards, strict=True):
        for name in ("source", "target", "masks"):
            joined = torch.cat([getattr(part0, name), getattr(part1, name)])
            assert torch.equal(joined, getattr(whole, name))


def test_full_batches_only():
    patches, _ = make_set(per_subject=3)  # 9 patches per epoch
    assert [len(b.source) for b in patches.epoch_batches(4, 0, 0, flips=False)] == [4, 4]
    assert [len(b.source) for b in patches.epoch_batches(16, 0, 0, flips=False)] == [16]


def test_subjects_without_kept_brain_are_skipped_and_none_is_an_error():
    good = coded_subject("good", (20, 24, 18), 0)
    empty = coded_subject("empty", (20, 24, 18), 1, kept=np.array([0]))  # the blob never touches the first slice
    patches = PatchTrainingSet([good, empty], SIZE, 4, axis=2)
    assert patches.subjects == ["good"] and patches.skipped == ["empty"] and len(patches) == 4
    with pytest.raises(DataError, match="no training subject"):
        PatchTrainingSet([empty], SIZE, 4, axis=2)
    with pytest.raises(DataError, match="kept slice"):
        PatchTrainingSet([coded_subject("bad", (20, 24, 18), 0, kept=np.array([18]))], SIZE, 4, axis=2)


def cached(subject: PatchSubject, folder) -> PatchSubject:
    """The subject written as .npy files in Fortran order (as the preprocessing cache holds volumes), read on demand."""
    files = []
    for i, volume in enumerate([subject.source, subject.target, *subject.masks]):
        np.save(folder / f"{subject.name}_{i}.npy", np.asfortranarray(volume))
        files.append(NpyFile(folder / f"{subject.name}_{i}.npy"))
    return PatchSubject(subject.name, files[0], files[1], files[2:], subject.kept_slices)


def test_patches_read_from_cached_volumes_are_the_in_memory_patches_and_are_not_kept(tmp_path):
    in_memory, subjects = make_set(per_subject=6)
    volume_bytes = sum(s.source.nbytes + s.target.nbytes + np.asarray(s.masks).nbytes for s in subjects)
    files = [cached(s, tmp_path) for s in subjects]
    tracemalloc.start()
    try:
        streamed = PatchTrainingSet(files, SIZE, 6, axis=2)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < volume_bytes / 4, f"{held} bytes kept for {volume_bytes} bytes of volumes"
    for epoch, world in ((0, 1), (1, 2)):
        for rank in range(world):
            got = list(streamed.epoch_batches(3, 4, epoch, True, rank=rank, world=world))
            want = list(in_memory.epoch_batches(3, 4, epoch, True, rank=rank, world=world))
            assert len(got) == len(want) > 1
            for a, b in zip(got, want, strict=True):
                assert torch.equal(a.source, b.source) and torch.equal(a.target, b.target) and torch.equal(a.masks, b.masks)


# ---- the cached tiny demo ---------------------------------------------------------------------------

def test_from_prepared_follows_the_kept_training_rows(prepared_patch3d):
    exp, data = prepared_patch3d
    table = data.slices.table()
    train = table[table["split"] == "train"].sort_values("row")
    first, *others = sorted(train["subject"].unique())
    few = train[train["subject"] == first]["row"].to_numpy()[[1, 4]]
    rows = np.concatenate([few, train[train["subject"].isin(others)]["row"].to_numpy()])
    axis = data.slices.facts["axis"]
    patches = PatchTrainingSet.from_prepared(data, rows, exp.data.patches, axis)
    assert patches.subjects == sorted(train["subject"].unique()) and len(patches) == 6 * len(patches.subjects)
    kept_first = set(train.set_index("row").loc[few, "slice"])
    for epoch in range(4):
        plan = patches.plan(seed=0, epoch=epoch, flips=False)
        assert set(plan.centre[plan.subject == 0, axis]) <= kept_first
    source, target, brain = data.volumes(first)
    for centre in plan.centre[plan.subject == 0][:5]:
        images, masks = patches.patch(0, centre)
        np.testing.assert_array_equal(images[0], cut(source, centre, (16, 16, 16), -1))
        np.testing.assert_array_equal(images[1], cut(target, centre, (16, 16, 16), -1))
        np.testing.assert_array_equal(masks[2], cut(brain, centre, (16, 16, 16), 0))
    batch = next(patches.epoch_batches(4, seed=0, epoch=0, flips=True))
    assert batch.source.shape == (4, 1, 16, 16, 16) and batch.masks.shape == (4, 3, 16, 16, 16)
    with pytest.raises(ValueError, match="axis"):
        PatchTrainingSet.from_prepared(data, rows, exp.data.patches, (axis + 1) % 3)
