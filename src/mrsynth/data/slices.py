"""Stage 2: one cache entry per subject with its paired slices and their QC metrics; the subject-level split.

A split is a list of subjects' entries (`SliceSet`), so adding a subject builds one entry and moving a
subject between splits builds none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mrsynth.cache import CacheStore, stage_key
from mrsynth.data.preprocessed import SubjectVolumes
from mrsynth.data.slice_set import MASKS, TABLE, SliceSet, SubjectSlices
from mrsynth.errors import DataError
from mrsynth.spec.data import SlicingSpec, SplitSpec

STAGE = "slices"
VERSION = 3  # 2: slab_offset pools neighbouring MI curves by median; 3: one entry per subject


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


def slices_key(preprocess_key: str, slicing: SlicingSpec, max_offset: int, bins: int) -> str:
    """One subject's slices entry: its preprocessed volumes, the slicing and the QC metric settings (never the split)."""
    inputs = {"preprocess": preprocess_key, "slicing": slicing.model_dump(mode="json"),
              "qc_metrics": {"max_offset": max_offset, "bins": bins}}
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


def write_subject_entry(out: Path, table: pd.DataFrame, picked: dict[str, np.ndarray], offsets: list[int],
                        volumes: SubjectVolumes, slicing: SlicingSpec) -> dict[str, Any]:
    """Write one subject's slices entry into `out` and return its facts: `picked` holds the (n, h, w)
    stacks of source, target and the three masks for the n rows of `table` (its QC metrics)."""
    np.save(out / "source.npy", picked["source"].astype(np.float32))
    np.save(out / "target.npy", picked["target"].astype(np.float32))
    np.save(out / "masks.npy", np.stack([picked[m] for m in MASKS], axis=1).astype(np.uint8))
    table.to_csv(out / TABLE, index=False)
    facts = {name: volumes.facts[name] for name in ("shape", "affine", "source_scale", "target_scale")}
    return {"count": len(table), "axis": slicing.axis, "size": list(slicing.size), "preprocess_key": volumes.key,
            "crop_offsets": offsets, **facts}


def build_subject_slices(store: CacheStore, volumes: SubjectVolumes, slicing: SlicingSpec, max_offset: int,
                         bins: int) -> SubjectSlices:
    """Reuse or build one subject's slices entry."""
    key = slices_key(volumes.key, slicing, max_offset, bins)
    settings = {"slicing": slicing.model_dump(mode="json"), "qc": {"max_offset": max_offset, "bins": bins}}
    build = lambda out: write_subject_entry(out, *_subject_slices(volumes, slicing, max_offset, bins), volumes, slicing)  # noqa: E731
    entry = store.get_or_build(STAGE, key, build, {"subject": volumes.subject, "settings": settings})
    return SubjectSlices(volumes.subject, key, entry.path, entry.manifest["facts"])


def build_slices(store: CacheStore, subjects: list[SubjectVolumes], split: SplitSpec, slicing: SlicingSpec,
                 max_offset: int, bins: int) -> SliceSet:
    """Every subject's slices entry (built where missing), assigned to splits: the split itself builds nothing."""
    ordered = sorted(subjects, key=lambda v: v.subject)
    entries = {v.subject: build_subject_slices(store, v, slicing, max_offset, bins) for v in ordered}
    return SliceSet(entries, split_subjects(sorted(entries), split), slicing.axis, tuple(slicing.size))
