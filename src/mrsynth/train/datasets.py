"""What a run trains on, chosen from the spec: paired slices, unpaired slices or 3D patches."""

from __future__ import annotations

import numpy as np

from mrsynth.data.prepare import PreparedData
from mrsynth.spec.experiment import Experiment
from mrsynth.train.batches import SliceArrays, UnpairedSlices, left_right_dim


def training_set(exp: Experiment, data: PreparedData, rows: np.ndarray):
    """The training set over the QC-kept training `rows`, with `len()` and `epoch_batches(...)`."""
    if exp.data.patches is not None:
        from mrsynth.train.patches3d import PatchTrainingSet

        return PatchTrainingSet.from_prepared(data, rows, exp.data.patches, exp.data.slicing.axis)
    rows = np.sort(rows)  # position i is the i-th kept row, as when the rows were copied into memory
    source, target, masks = data.slices.arrays("train")  # read batch by batch: memory stays flat as the split grows
    arrays = SliceArrays(source, target, masks, rows, left_right_dim(exp.data.slicing.axis))
    if exp.data.dataset.paired:
        return arrays
    table = data.slices.table()
    subject_of_row = table[table["split"] == "train"].set_index("row")["subject"]
    return UnpairedSlices(arrays, subject_of_row.loc[rows].to_numpy())
