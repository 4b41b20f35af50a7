"""One split's slices as a single array-like over the subjects' cache entries, read on demand."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mrsynth.data.npy_file import NpyFile


class RowStack:
    """The row-wise concatenation of .npy files (one per subject), nothing held in memory.

    Indexing copies the rows asked for: `stack[rows]`, `stack[a:b]`, `stack[i]`, and any of those
    followed by integers or slices over the later axes (`stack[rows, 2]`)."""

    def __init__(self, parts: Sequence[NpyFile], row_shape: Sequence[int], dtype: np.dtype | type):
        self.parts = list(parts)
        self.dtype = np.dtype(dtype)
        for part in self.parts:
            if part.shape[1:] != tuple(row_shape) or part.dtype != self.dtype:
                raise ValueError(f"{part.path}: rows of {part.shape[1:]} {part.dtype}, expected {tuple(row_shape)} {self.dtype}")
        self.starts = np.cumsum([0, *(len(p) for p in self.parts)])
        self.shape = (int(self.starts[-1]), *(int(n) for n in row_shape))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def take(self, rows: np.ndarray) -> np.ndarray:
        """Rows `rows` in the order given (repeats allowed); each file is read once, in row order."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        rows = np.where(rows < 0, rows + len(self), rows)
        if rows.size and (rows.min() < 0 or rows.max() >= len(self)):
            raise IndexError(f"row index out of range for {len(self)} rows")
        out = np.empty((len(rows), *self.shape[1:]), dtype=self.dtype)
        part_of = np.searchsorted(self.starts, rows, side="right") - 1
        for part in np.unique(part_of):
            chosen = np.flatnonzero(part_of == part)
            out[chosen] = self.parts[part].rows(rows[chosen] - self.starts[part])
        return out

    def __getitem__(self, key) -> np.ndarray:
        first, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
        if isinstance(first, int | np.integer):
            return self.take(np.array([first]))[(0, *rest)]
        if isinstance(first, slice):
            rows = np.arange(*first.indices(len(self)))
        elif first is Ellipsis and not rest:
            rows = np.arange(len(self))
        else:
            rows = np.asarray(first)
            rows = np.flatnonzero(rows) if rows.dtype == bool else rows
        return self.take(rows)[(slice(None), *rest)]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self.take(np.arange(len(self)))
        return whole if dtype is None else whole.astype(dtype)
