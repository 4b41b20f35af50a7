"""Per-subject .npy files read as one split: numpy's answers, and nothing left mapped after a read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mrsynth.data.npy_file import NpyFile
from mrsynth.data.row_stack import RowStack
from mrsynth.errors import DataError


@pytest.fixture
def parts(tmp_path) -> tuple[list[np.ndarray], list[NpyFile]]:
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 255, size=(n, 3, 5, 4), dtype=np.uint8) for n in (4, 0, 7, 1)]  # one subject has no rows
    for i, array in enumerate(arrays):
        np.save(tmp_path / f"{i}.npy", array)
    return arrays, [NpyFile(tmp_path / f"{i}.npy") for i in range(len(arrays))]


def mapped(path: Path) -> bool:
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("needs /proc/self/maps (Linux)")
    return str(path) in maps.read_text()


def test_indexing_matches_the_concatenated_array(parts):
    arrays, files = parts
    whole = np.concatenate(arrays)
    stack = RowStack(files, (3, 5, 4), np.uint8)
    assert stack.shape == whole.shape and len(stack) == 12 and stack.ndim == 4
    shuffled = np.random.default_rng(1).permutation(12)
    repeated = np.array([11, 0, 0, 5, 4, 11])
    for key in (shuffled, repeated, slice(2, 9), slice(None, None, -3), 5, -1, np.int64(4), (shuffled, 2),
                (slice(3, 8), 1, slice(1, 3)), (7, 0), whole[:, 0, 0, 0] > 128, Ellipsis):
        np.testing.assert_array_equal(stack[key], whole[key], err_msg=str(key))
    np.testing.assert_array_equal(np.asarray(stack), whole)
    with pytest.raises(IndexError):
        stack[np.array([12])]


def test_reads_leave_nothing_mapped(parts, tmp_path):
    _, files = parts
    stack = RowStack(files, (3, 5, 4), np.uint8)
    rows, block = stack[[1, 6, 9]], files[2][1:3, 0]  # positioned reads; a map opened and closed for one read
    assert rows.shape == (3, 3, 5, 4) and block.shape == (2, 5, 4)
    assert not any(mapped(f.path) for f in files)  # a memory map would stay in the resident set
    held = np.load(files[2].path, mmap_mode="r")  # the check can fail: a live memory map is listed
    assert held.sum() > 0 and mapped(files[2].path)


def test_parts_must_share_the_row_shape_and_dtype(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((2, 4, 4), np.float32))
    np.save(tmp_path / "b.npy", np.zeros((2, 4, 5), np.float32))
    with pytest.raises(ValueError, match="expected"):
        RowStack([NpyFile(tmp_path / "a.npy"), NpyFile(tmp_path / "b.npy")], (4, 4), np.float32)


def test_fortran_volumes_read_by_window_not_by_row(tmp_path):
    volume = np.asfortranarray(np.arange(5 * 6 * 7, dtype=np.float32).reshape(5, 6, 7))
    np.save(tmp_path / "v.npy", volume)
    file = NpyFile(tmp_path / "v.npy")
    np.testing.assert_array_equal(file[1:4, 2:6, 3:5], volume[1:4, 2:6, 3:5])
    with pytest.raises(Exception, match="C-ordered"):
        file.rows(np.array([0]))


def test_no_rows_and_a_truncated_file(parts, tmp_path):
    _, files = parts
    assert files[0].rows(np.array([], dtype=np.int64)).shape == (0, 3, 5, 4)
    whole = files[2].path.read_bytes()
    files[2].path.write_bytes(whole[: len(whole) - 10])  # a copy cut short after the header was read
    with pytest.raises(DataError, match="ends 10 bytes early"):
        files[2].rows(np.array([6]))
