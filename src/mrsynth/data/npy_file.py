"""A cached .npy array read on demand: each read copies what it asks for and keeps nothing mapped.

A memory map keeps every page it has touched in the process's resident set until it is unmapped, so
training over memory-mapped slices ends an epoch with the whole training split counted in its RSS.
`rows` reads rows with positioned reads (they pass through the page cache but never into the process);
`[...]` maps the file for that one read and unmaps it when the copy is made.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mrsynth.errors import DataError

HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


class NpyFile:
    """A .npy file: its shape and dtype from the header, its values only when indexed (`rows` needs C order)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        with open(self.path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = HEADER_READERS.get(version)
            if read_header is None:
                raise DataError(f".npy format version {version} is not one np.save writes", path=str(self.path))
            shape, fortran, dtype = read_header(handle)
            self.offset = handle.tell()
        if dtype.hasobject:
            raise DataError("cannot read an array of Python objects", path=str(self.path))
        self.shape, self.dtype, self.order = tuple(shape), dtype, "F" if fortran else "C"
        self.row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, index: np.ndarray) -> np.ndarray:
        """Rows `index` (any order, repeats allowed) along the first axis, read once each in file order."""
        if self.order != "C":
            raise DataError("rows are contiguous only in a C-ordered array", path=str(self.path))
        index = np.asarray(index, dtype=np.int64)
        wanted, inverse = np.unique(index, return_inverse=True)
        if wanted.size and (wanted[0] < 0 or wanted[-1] >= len(self)):
            raise IndexError(f"rows {wanted[0]}..{wanted[-1]} out of range for {len(self)} rows of {self.path}")
        block = np.empty((len(wanted), *self.shape[1:]), dtype=self.dtype)
        if not wanted.size:
            return block
        breaks = np.flatnonzero(np.diff(wanted) != 1) + 1
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for start, stop in zip(np.r_[0, breaks], np.r_[breaks, len(wanted)], strict=True):
                self._read_exactly(fd, block[start:stop], self.offset + int(wanted[start]) * self.row_bytes)
        finally:
            os.close(fd)
        return block if np.array_equal(wanted, index) else block[inverse.reshape(-1)]

    def _read_exactly(self, fd: int, out: np.ndarray, offset: int) -> None:
        view = memoryview(out).cast("B")
        while view.nbytes:
            done = os.preadv(fd, [view], offset)
            if done == 0:
                raise DataError(f"file ends {view.nbytes} bytes early (read at byte {offset})", path=str(self.path))
            view, offset = view[done:], offset + done

    def __getitem__(self, key) -> np.ndarray:
        if 0 in self.shape:  # an empty file cannot be mapped
            return np.empty(self.shape, self.dtype)[key]
        mapped = np.memmap(self.path, self.dtype, "r", self.offset, self.shape, self.order)
        return np.array(mapped[key])  # a copy: the map goes with `mapped` when this returns

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self[...]
        return whole if dtype is None else whole.astype(dtype)

