"""Stage 2: subject-level split, paired slices and their QC metrics, as memory-mappable arrays per split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mrsynth.cache import CacheStore, stage_key
from mrsynth.data.preprocessed import SubjectVolumes
from mrsynth.errors import DataError
from mrsynth.spec.data import SlicingSpec, SplitSpec

STAGE = "slices"
VERSION = 2  # 2: slab_offset pools neighbouring MI curves by median
SPLITS = ("train", "val", "test")
MASKS = ("source_mask", "target_mask", "intersection")


def split_subjects(subjects: list[str], spec: SplitSpec) -> dict[str, str]:
    """Assign whole subjects to splits by a seeded shuffle; val and test get at least one subject when asked for."""
    if spec.val_subjects is not None:
        listed = set(spec.val_subjects) | set(spec.test_subjects)
        if listed - set(subjects):
            unknown = sorted(listed - set(subjects))
            hint = ""
            if any(s.removeprefix("sub-") in subjects for s in unknown):
                hint = " (subjects are named by their BIDS label, without 'sub-': e.g. '01')"
            raise DataError(f"data.split lists subjects the dataset does not have (or that were skipped): {unknown}{hint}")
        return {s: "val" if s in spec.val_subjects else "test" if s in spec.test_subjects else "train" for s in subjects}
    order = [subjects[i] for i in np.random.default_rng(spec.seed).permutation(len(subjects))]
    n = len(order)
    n_val = max(1, round(spec.val * n)) if spec.val > 0 and n >= 3 else 0
    n_test = max(1, round(spec.test * n)) if spec.test > 0 and n >= 3 else 0
    n_val, n_test = min(n_val, max(0, n - 1 - n_test)), min(n_test, max(0, n - 1))
    names = ["test"] * n_test + ["val"] * n_val + ["train"] * (n - n_val - n_test)
    return {subject: split for subject, split in zip(order, names, strict=True)}


def crop_or_pad(stack: np.ndarray, size: tuple[int, int], fill: float) -> tuple[np.ndarray, list[int]]:
    """Centre crop or pad an (n, a, b) stack to (n, *size); returns the offsets to undo it (negative = padded)."""
    out = stack
    offsets = []
    for axis, want in zip((1, 2), size, strict=True):
        have = out.shape[axis]
        start = (have - want) // 2
        if have >= want:
            out = np.take(out, np.arange(start, start + want), axis=axis)
        else:
            pad = [(0, 0)] * out.ndim
            pad[axis] = (-start, want - have + start)
            out = np.pad(out, pad, constant_values=fill)
        offsets.append(start)
    return out, offsets


def uncrop(stack: np.ndarray, offsets: list[int], shape: tuple[int, int], fill: float) -> np.ndarray:
    """Inverse of crop_or_pad for the part of the plane that was kept."""
    out = np.full((stack.shape[0], *shape), fill, dtype=stack.dtype)
    src, dst = [slice(None)], [slice(None)]
    for start, have, want in zip(offsets, shape, stack.shape[1:], strict=True):
        if start >= 0:
            dst.append(slice(start, start + want))
            src.append(slice(None))
        else:
            dst.append(slice(None))
            src.append(slice(-start, -start + have))
    out[tuple(dst)] = stack[tuple(src)]
    return out


def slices_key(preprocess_keys: dict[str, str], split: SplitSpec, slicing: SlicingSpec, max_offset: int, bins: int) -> str:
    inputs = {"subjects": preprocess_keys, "split": split.model_dump(mode="json"),
              "slicing": slicing.model_dump(mode="json"), "qc_metrics": {"max_offset": max_offset, "bins": bins}}
    return stage_key(STAGE, VERSION, inputs)


def _subject_slices(volumes: SubjectVolumes, slicing: SlicingSpec, max_offset: int, bins: int) -> tuple[pd.DataFrame, dict[str, np.ndarray], list[int]]:
    from mrsynth.qc.metrics import slice_pair_metrics
    from mrsynth.qc.stack import as_slice_stack

    arrays = {name: np.asarray(volumes.array(name)) for name in ("source", "target", *MASKS)}
    table = slice_pair_metrics(arrays["source"], arrays["target"], arrays["source_mask"], arrays["target_mask"],
                               axis=slicing.axis, max_offset=max_offset, bins=bins,
                               min_brain_fraction=slicing.min_brain_fraction)
    picked: dict[str, np.ndarray] = {}
    offsets: list[int] = []
    for name, array in arrays.items():
        stack = as_slice_stack(array, slicing.axis)[table["slice"].to_numpy()]
        fill = -1.0 if name in ("source", "target") else 0
        picked[name], offsets = crop_or_pad(stack, slicing.size, fill)
    return table, picked, offsets


def _write_slices(subjects: list[SubjectVolumes], split_of: dict[str, str], slicing: SlicingSpec, max_offset: int, bins: int, out: Path) -> dict[str, Any]:
    tables, per_split, info = [], {s: [] for s in SPLITS}, {}
    for volumes in subjects:
        table, picked, offsets = _subject_slices(volumes, slicing, max_offset, bins)
        split = split_of[volumes.subject]
        table.insert(0, "split", split)
        table.insert(0, "subject", volumes.subject)
        table.insert(2, "row", sum(len(p["source"]) for p in per_split[split]) + np.arange(len(table)))
        tables.append(table)
        per_split[split].append(picked)
        info[volumes.subject] = {"split": split, "preprocess_key": volumes.key, "shape": volumes.facts["shape"],
                                 "affine": volumes.facts["affine"], "crop_offsets": offsets,
                                 "source_scale": volumes.facts["source_scale"], "target_scale": volumes.facts["target_scale"]}
    for split, parts in per_split.items():
        for name in ("source", "target"):
            stack = np.concatenate([p[name] for p in parts]) if parts else np.zeros((0, *slicing.size), np.float32)
            np.save(out / f"{split}_{name}.npy", stack.astype(np.float32))
        masks = np.stack([np.concatenate([p[m] for p in parts]) for m in MASKS], axis=1) if parts else np.zeros((0, 3, *slicing.size), np.uint8)
        np.save(out / f"{split}_masks.npy", masks.astype(np.uint8))
    table = pd.concat(tables, ignore_index=True)
    table.to_csv(out / "qc_metrics.csv", index=False)
    counts = {split: int((table["split"] == split).sum()) for split in SPLITS}
    return {"subjects": info, "counts": counts, "axis": slicing.axis, "size": list(slicing.size)}


@dataclass(frozen=True)
class SliceSet:
    """The cached slices of a dataset: arrays per split (memory-mapped) and the QC metrics table."""

    key: str
    path: Path
    facts: dict[str, Any]

    def arrays(self, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(source, target, masks) of a split; masks is (n, 3, h, w): source, target, intersection."""
        load = lambda name: np.load(self.path / f"{split}_{name}.npy", mmap_mode="r")  # noqa: E731
        return load("source"), load("target"), load("masks")

    def table(self) -> pd.DataFrame:
        return pd.read_csv(self.path / "qc_metrics.csv", dtype={"subject": str})

    def subjects(self, split: str | None = None) -> list[str]:
        info = self.facts["subjects"]
        return sorted(s for s, v in info.items() if split in (None, v["split"]))


def build_slices(store: CacheStore, subjects: list[SubjectVolumes], split: SplitSpec, slicing: SlicingSpec,
                 max_offset: int, bins: int) -> SliceSet:
    keys = {v.subject: v.key for v in sorted(subjects, key=lambda v: v.subject)}
    key = slices_key(keys, split, slicing, max_offset, bins)
    split_of = split_subjects(sorted(keys), split)
    entry = store.get_or_build(STAGE, key, lambda out: _write_slices(subjects, split_of, slicing, max_offset, bins, out),
                               {"subjects": sorted(keys), "settings": {"split": split.model_dump(mode="json"),
                                "slicing": slicing.model_dump(mode="json"), "qc": {"max_offset": max_offset, "bins": bins}}})
    return SliceSet(key, entry.path, entry.manifest["facts"])
