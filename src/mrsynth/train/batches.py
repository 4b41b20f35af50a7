"""Training batches read from the cached slices as they are needed, made ahead in a background thread.

Order and flips are a pure function of (seed, epoch); what is read, and when, does not change them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from mrsynth.train.prefetch import Prefetched

MASK_CHANNEL = {"source": 0, "target": 1, "intersection": 2}


@dataclass
class SliceArrays:
    """One split's slices: (n, h, w) source and target, (n, 3, h, w) masks, restricted to `rows`.

    The arrays are numpy arrays or the cache's on-demand `RowStack`s: a batch reads its rows (sorted,
    each once) when it is made, so memory does not grow with the split.
    `flip_dim` is the slice dimension a left-right flip mirrors (see `left_right_dim`); None: no flips."""

    source: np.ndarray
    target: np.ndarray
    masks: np.ndarray
    rows: np.ndarray
    flip_dim: int | None = -2

    def __len__(self) -> int:
        return len(self.rows)

    def in_memory(self) -> SliceArrays:
        """The selected rows copied into memory once (the same batches; for comparison and small sets)."""
        rows = np.sort(self.rows)
        return SliceArrays(np.ascontiguousarray(self.source[rows]), np.ascontiguousarray(self.target[rows]),
                           np.ascontiguousarray(self.masks[rows]), np.arange(len(rows)), self.flip_dim)

    def epoch_batches(self, batch_size: int, seed: int, epoch: int, flips: bool, pin: bool = False,
                      rank: int = 0, world: int = 1) -> Iterator[Batch]:
        return Prefetched(training_batches(self, batch_size, seed, epoch, flips, pin, rank, world))


@dataclass
class UnpairedSlices:
    """Training slices of an unpaired dataset: each source slice meets a target slice of another subject.

    `subjects[i]` is the subject of row `arrays.rows[i]`. Which target slice joins which source slice
    is drawn afresh every epoch, as a pure function of (seed, epoch)."""

    arrays: SliceArrays
    subjects: np.ndarray

    def __post_init__(self) -> None:
        if len(self.subjects) != len(self.arrays):
            raise ValueError(f"{len(self.subjects)} subject labels for {len(self.arrays)} rows")
        if len(np.unique(self.subjects)) < 2:
            raise ValueError("unpaired sampling needs training slices of at least two subjects")

    def __len__(self) -> int:
        return len(self.arrays)

    def partners(self, seed: int, epoch: int) -> np.ndarray:
        """For each position i, the position of a target slice whose subject differs from subject i's."""
        rng = np.random.default_rng([seed, epoch, 1])
        partner = rng.integers(0, len(self), len(self))
        clash = self.subjects[partner] == self.subjects
        while clash.any():  # redraw only the clashes; at least two subjects, so this ends
            partner[clash] = rng.integers(0, len(self), int(clash.sum()))
            clash = self.subjects[partner] == self.subjects
        return partner

    def epoch_batches(self, batch_size: int, seed: int, epoch: int, flips: bool, pin: bool = False,
                      rank: int = 0, world: int = 1) -> Iterator[Batch]:
        return Prefetched(self._batches(batch_size, seed, epoch, flips, pin, rank, world))

    def _batches(self, batch_size: int, seed: int, epoch: int, flips: bool, pin: bool, rank: int,
                 world: int) -> Iterator[Batch]:
        partner = self.partners(seed, epoch)
        for batch_index, batch in _sharded(self.arrays, batch_size, seed, epoch, flips, rank, world):
            other = make_batch(self.arrays, partner[batch_index])
            masks = torch.cat([batch.masks[:, :1], other.masks[:, 1:2], torch.zeros_like(batch.masks[:, :1])], dim=1)
            paired = Batch(batch.source, other.target, masks)  # no intersection: the slices show different heads
            yield paired.pinned() if pin else paired


@dataclass
class Batch:
    source: torch.Tensor  # (b, 1, h, w)
    target: torch.Tensor
    masks: torch.Tensor  # (b, 3, h, w) float 0/1

    def to(self, device: torch.device, non_blocking: bool = False) -> Batch:
        move = lambda t: t.to(device, non_blocking=non_blocking)  # noqa: E731
        return Batch(move(self.source), move(self.target), move(self.masks))

    def pinned(self) -> Batch:
        return Batch(self.source.pin_memory(), self.target.pin_memory(), self.masks.pin_memory())

    def mask(self, kind: str) -> torch.Tensor | None:
        return None if kind == "none" else self.masks[:, MASK_CHANNEL[kind] : MASK_CHANNEL[kind] + 1]


def left_right_dim(axis: int) -> int | None:
    """The slice dimension along canonical x (left-right) for slices cut along `axis`.

    A stored slice keeps the two other canonical axes in order, so x is its first dimension for axial
    (axis 2) and coronal (axis 1) slices; sagittal slices (axis 0) have no left-right direction."""
    return None if axis == 0 else -2


def epoch_plan(n: int, seed: int, epoch: int, flips: bool) -> tuple[np.ndarray, np.ndarray]:
    """The shuffled order and per-sample flip flags of one epoch."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(n)
    flip = rng.random(n) < 0.5 if flips else np.zeros(n, dtype=bool)
    return order, flip


def make_batch(arrays: SliceArrays, index: np.ndarray, flip: np.ndarray | None = None, pin: bool = False) -> Batch:
    rows = arrays.rows[index]
    source = torch.from_numpy(np.ascontiguousarray(arrays.source[rows]))[:, None]
    target = torch.from_numpy(np.ascontiguousarray(arrays.target[rows]))[:, None]
    masks = torch.from_numpy(np.ascontiguousarray(arrays.masks[rows])).float()
    if flip is not None and flip.any() and arrays.flip_dim is not None:
        chosen, dim = torch.from_numpy(flip), arrays.flip_dim
        source[chosen] = source[chosen].flip(dim)
        target[chosen] = target[chosen].flip(dim)
        masks[chosen] = masks[chosen].flip(dim)
    batch = Batch(source, target, masks)
    return batch.pinned() if pin else batch


def training_batches(arrays: SliceArrays, batch_size: int, seed: int, epoch: int, flips: bool, pin: bool = False,
                     rank: int = 0, world: int = 1) -> Iterator[Batch]:
    """Full batches only (a last short batch would make BatchNorm statistics noisy).

    With `world` > 1 processes, each global batch of `batch_size * world` rows of the shared plan is
    split into equal shards and this rank yields shard `rank`: together the ranks see exactly the
    batches one process would see with the batch size multiplied by `world`."""
    for _, batch in _sharded(arrays, batch_size, seed, epoch, flips, rank, world):
        yield batch.pinned() if pin else batch


def _sharded(arrays: SliceArrays, batch_size: int, seed: int, epoch: int, flips: bool, rank: int, world: int):
    """(positions, batch) of this rank's shard of every global batch of the epoch's plan."""
    order, flip = epoch_plan(len(arrays), seed, epoch, flips)
    global_size = batch_size * world
    for start in range(0, steps_per_epoch(len(order), global_size) * global_size, global_size):
        shard = slice(start + rank * batch_size, start + (rank + 1) * batch_size)
        if len(order[shard]):
            yield order[shard], make_batch(arrays, order[shard], flip[shard])


def steps_per_epoch(n: int, batch_size: int) -> int:
    return max(1, n // batch_size) if n >= batch_size else 1


def ordered_batches(arrays: SliceArrays, batch_size: int) -> Iterator[tuple[np.ndarray, Batch]]:
    """Evaluation order: every row once, in order."""
    for start in range(0, len(arrays), batch_size):
        index = np.arange(start, min(start + batch_size, len(arrays)))
        yield index, make_batch(arrays, index)
