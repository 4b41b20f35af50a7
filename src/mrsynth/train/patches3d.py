"""3D patch training for 3D generators (their prediction by patches lives in mrsynth.inference.patches).

Training patches are cubes centred on brain voxels (intersection mask) of slices that passed QC, so
the slice-level filter also governs 3D training. Each patch is read from the cached volumes when its
batch is made (nothing but the allowed centres stays in memory). A patch reaching past the volume's edge is padded
with background (-1 for images, 0 for masks): every kept brain voxel can be a centre, and volumes
smaller than a patch need no special case. Flips mirror canonical axis 0 (x, left-right), which is
axis 2 of the (b, c, X, Y, Z) tensors, in source, target and masks alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mrsynth.data.npy_file import NpyFile
from mrsynth.data.prepare import PreparedData
from mrsynth.data.slice_set import MASKS
from mrsynth.errors import DataError
from mrsynth.spec.data import PatchSpec
from mrsynth.train.batches import Batch
from mrsynth.train.prefetch import Prefetched

IMAGE_FILL = -1.0  # background of the normalised images
FLIP_AXIS = 0  # canonical x (left-right) of a volume


@dataclass(frozen=True)
class PatchSubject:
    """One training subject: normalised (X, Y, Z) source and target, its 3 masks (source, target,
    intersection) as a (3, X, Y, Z) array or a sequence of three volumes, and the indices along the
    slicing axis of the slices that passed QC. Volumes are arrays or `NpyFile`s read patch by patch."""

    name: str
    source: np.ndarray
    target: np.ndarray
    masks: Sequence[np.ndarray] | np.ndarray
    kept_slices: np.ndarray


@dataclass(frozen=True)
class PatchPlan:
    """One epoch's patches in batch order: subject index, centre voxel (volume coordinates), flip flag."""

    subject: np.ndarray  # (n,) int
    centre: np.ndarray  # (n, 3) int
    flip: np.ndarray  # (n,) bool


@dataclass(frozen=True)
class _Sampled:
    """A subject patches are cut from: its five volumes (source, target, 3 masks), read per patch, and
    the flat indices (in `shape`) of the allowed patch centres."""

    volumes: tuple
    shape: tuple[int, int, int]
    centres: np.ndarray


def allowed_centres(intersection: np.ndarray, kept_slices: np.ndarray, axis: int) -> np.ndarray:
    """Flat indices of the brain voxels lying on kept slices along `axis`."""
    kept = np.asarray(kept_slices, dtype=np.int64)
    if kept.size and (kept.min() < 0 or kept.max() >= intersection.shape[axis]):
        raise DataError(f"kept slice indices must lie in [0, {intersection.shape[axis]}) along axis {axis}")
    on_kept = np.zeros(intersection.shape[axis], dtype=bool)
    on_kept[kept] = True
    along = [1, 1, 1]
    along[axis] = -1
    return np.flatnonzero((np.asarray(intersection) != 0) & on_kept.reshape(along))


def _window(volume: np.ndarray, lo: np.ndarray, hi: np.ndarray, fill: float) -> np.ndarray:
    """volume[lo:hi] on every axis, padded with `fill` where the range leaves the volume."""
    inside = tuple(slice(max(a, 0), min(b, n)) for a, b, n in zip(lo, hi, volume.shape, strict=True))
    pad = [(max(-a, 0), max(b - n, 0)) for a, b, n in zip(lo, hi, volume.shape, strict=True)]
    return np.pad(np.asarray(volume[inside]), pad, constant_values=fill)


def _sampled(subject: PatchSubject, axis: int) -> _Sampled | None:
    masks = list(subject.masks)
    shape = tuple(subject.source.shape)
    if len(masks) != 3 or any(tuple(a.shape) != shape for a in (subject.target, *masks)):
        raise DataError(f"source, target and 3 masks must share the shape {shape}", subject=subject.name)
    centres = allowed_centres(masks[2], subject.kept_slices, axis)
    if np.prod(shape) <= np.iinfo(np.int32).max:
        centres = centres.astype(np.int32)  # half the memory of the one array that grows with the brains
    return _Sampled((subject.source, subject.target, *masks), shape, centres) if centres.size else None


class PatchTrainingSet:
    """Training patches of the subjects: `per_subject` patches per subject and epoch, a pure function of (seed, epoch)."""

    def __init__(self, subjects: Sequence[PatchSubject], size: Sequence[int], per_subject: int, axis: int):
        self.size = tuple(int(s) for s in size)
        self.per_subject = int(per_subject)
        sampled = {s.name: _sampled(s, axis) for s in subjects}
        self.skipped = sorted(name for name, s in sampled.items() if s is None)  # no brain voxel on a kept slice
        self.subjects = [name for name, s in sampled.items() if s is not None]
        self._sampled = [s for s in sampled.values() if s is not None]
        if not self._sampled:
            raise DataError("no training subject has a brain voxel on a kept slice to centre a 3D patch on")

    @classmethod
    def from_prepared(cls, data: PreparedData, rows: np.ndarray, patches: PatchSpec, axis: int) -> PatchTrainingSet:
        """The training subjects of `data` whose slices (`rows` of the train split) passed QC."""
        if axis != data.slices.facts["axis"]:
            raise ValueError(f"axis {axis} differs from the cached slices' axis {data.slices.facts['axis']}")
        table = data.slices.table()
        kept = table[(table["split"] == "train") & table["row"].isin(np.asarray(rows))]
        subjects = []
        for name, group in kept.groupby("subject", sort=True):
            path = data.subject_volumes(name).path
            source, target, *masks = (NpyFile(path / f"{array}.npy") for array in ("source", "target", *MASKS))
            subjects.append(PatchSubject(name, source, target, masks, group["slice"].to_numpy()))
        return cls(subjects, patches.size, patches.per_subject, axis)

    def __len__(self) -> int:
        return self.per_subject * len(self._sampled)

    def steps(self, global_batch: int) -> int:
        """Batches per epoch for a global batch size (one when an epoch holds fewer patches than a batch)."""
        return max(1, len(self) // global_batch)

    def plan(self, seed: int, epoch: int, flips: bool, at_least: int = 1) -> PatchPlan:
        """Every subject's centres drawn uniformly with replacement, `per_subject` times (more rounds when
        an epoch must hold `at_least` patches), shuffled together."""
        rng = np.random.default_rng([seed, epoch])
        rounds = max(1, -(-at_least // len(self)))
        subject = np.repeat(np.arange(len(self._sampled)), self.per_subject * rounds)
        sizes = np.array([len(s.centres) for s in self._sampled])
        pick = rng.integers(0, sizes[subject])
        centre = np.empty((len(subject), 3), dtype=np.int64)
        for index, sampled in enumerate(self._sampled):
            chosen = subject == index
            centre[chosen] = np.stack(np.unravel_index(sampled.centres[pick[chosen]], sampled.shape), axis=1)
        order = rng.permutation(len(subject))
        flip = rng.random(len(subject)) < 0.5 if flips else np.zeros(len(subject), dtype=bool)
        return PatchPlan(subject[order], centre[order], flip)

    def patch(self, subject: int, centre: np.ndarray, flip: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(images (2, *size) source and target, masks (3, *size)) of one patch, flipped along x on request."""
        volumes = self._sampled[subject].volumes
        lo = np.asarray(centre) - np.array(self.size) // 2
        hi = lo + np.array(self.size)
        images = np.stack([_window(v, lo, hi, IMAGE_FILL) for v in volumes[:2]]).astype(np.float32)
        masks = np.stack([_window(m, lo, hi, 0) for m in volumes[2:]]).astype(np.uint8)
        if flip:
            images, masks = np.flip(images, 1 + FLIP_AXIS), np.flip(masks, 1 + FLIP_AXIS)
        return images, masks

    def make_batch(self, plan: PatchPlan, index: slice | np.ndarray, pin: bool = False) -> Batch:
        picked = [self.patch(s, c, f) for s, c, f in zip(plan.subject[index], plan.centre[index], plan.flip[index], strict=True)]
        images = torch.from_numpy(np.stack([p[0] for p in picked]))
        masks = torch.from_numpy(np.stack([p[1] for p in picked])).float()
        batch = Batch(images[:, :1].contiguous(), images[:, 1:].contiguous(), masks)
        return batch.pinned() if pin else batch

    def epoch_batches(self, batch_size: int, seed: int, epoch: int, flips: bool, pin: bool = False,
                      rank: int = 0, world: int = 1) -> Iterator[Batch]:
        """Full batches of (b, 1, X, Y, Z) patches. With `world` > 1, each global batch of `batch_size *
        world` patches is split into equal shards and this rank yields shard `rank`, as `training_batches` does.
        Made ahead in a background thread (`Prefetched`)."""
        global_size = batch_size * world
        plan = self.plan(seed, epoch, flips, at_least=global_size)
        shards = (slice(start + rank * batch_size, start + (rank + 1) * batch_size)
                  for start in range(0, self.steps(global_size) * global_size, global_size))
        return Prefetched(self.make_batch(plan, shard, pin) for shard in shards)
