"""Every kind of unusable volume: one clear line naming subject and file, no cache entry for that subject,
and under `on_bad_subject: skip` the run goes on without it. The bad file is sub-03's 3T T1w of the tiny demo."""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from mrsynth.cache import CacheStore
from mrsynth.data.prepare import prepare_data
from mrsynth.errors import DataError
from mrsynth.spec.load import load_spec
from mrsynth_testing import tiny_spec_data

pytestmark = pytest.mark.slow
AFFINE = np.diag([5.6, 5.6, 5.6, 1.0])


def nifti(data: np.ndarray, affine=AFFINE, dtype=None) -> bytes:
    image = nib.Nifti1Image(data, affine, dtype=dtype)
    return gzip.compress(image.to_bytes())


def header_only(sform: np.ndarray, like: np.ndarray) -> bytes:
    """An image whose sform is `sform` (nibabel would repair it when given as the image's affine)."""
    header = nib.Nifti1Header()
    header.set_data_shape(like.shape)
    header.set_data_dtype(np.float32)
    header.set_qform(None, code=0)
    header.set_sform(sform, code=1)
    return gzip.compress(nib.Nifti1Image(like.astype(np.float32), None, header).to_bytes())


def bad_dims(like: np.ndarray) -> bytes:
    raw = nib.Nifti1Image(like.astype(np.float32), AFFINE).to_bytes()
    return gzip.compress(raw[:40] + np.array([3, like.shape[0], -5, like.shape[2], 1, 1, 1, 1], np.int16).tobytes() + raw[56:])


def with_voxel(like: np.ndarray, value: float) -> np.ndarray:
    out = like.astype(np.float32).copy()
    out[3, 4, 5] = value
    return out


# name → how to turn the good file's bytes and voxels into the bad file's bytes (None: delete; a Path step below)
KINDS: dict[str, Callable[[bytes, np.ndarray], bytes | None]] = {
    "missing": lambda raw, a: None,
    "empty": lambda raw, a: b"",
    "truncated_gzip": lambda raw, a: raw[:200],
    "garbage": lambda raw, a: bytes(range(256)) * 8,
    "gzip_of_text": lambda raw, a: gzip.compress(b"not a nifti " * 50),
    "png": lambda raw, a: b"\x89PNG\r\n\x1a\n" + bytes(300),
    "truncated_voxels": lambda raw, a: gzip.compress(gzip.decompress(raw)[:2000]),
    "four_d": lambda raw, a: nifti(np.stack([a, a], axis=-1).astype(np.float32)),
    "two_d": lambda raw, a: nifti(a[:, :, 0].astype(np.float32)),
    "empty_axis": lambda raw, a: nifti(np.zeros((0, *a.shape[1:]), np.float32)),
    "negative_dim": lambda raw, a: bad_dims(a),
    "nan_voxel": lambda raw, a: nifti(with_voxel(a, np.nan)),
    "inf_voxel": lambda raw, a: nifti(with_voxel(a, np.inf)),
    "constant": lambda raw, a: nifti(np.zeros(a.shape, np.float32)),
    "complex": lambda raw, a: nifti((a + 1j * a).astype(np.complex64)),
    "rgb": lambda raw, a: nifti(np.zeros(a.shape, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])),
    "singular_affine": lambda raw, a: header_only(np.zeros((4, 4)), a),
    "nan_affine": lambda raw, a: header_only(np.full((4, 4), np.nan), a),
    "float32_extremes": lambda raw, a: nifti(np.where(a > a.mean(), 3e38, -3e38).astype(np.float32)),
    "int64_extremes": lambda raw, a: nifti((a.astype(np.float64) * 1e15).astype(np.int64), dtype=np.int64),
    "no_overlap_with_target": lambda raw, a: nifti(a.astype(np.float32), AFFINE @ np.array(
        [[1, 0, 0, 200], [0, 1, 0, 200], [0, 0, 1, 200], [0, 0, 0, 1.0]])),
}
PATH_KINDS = {"directory", "symlink_loop"}


@pytest.fixture(scope="module")
def demo_copy(tiny_demo, tmp_path_factory):
    root = tmp_path_factory.mktemp("bad") / "demo"
    shutil.copytree(tiny_demo, root)
    store = CacheStore(root.parent / "cache")
    return root, store


def corrupt(path: Path, kind: str) -> None:
    good_bytes, voxels = path.read_bytes(), np.asarray(nib.load(path).dataobj)
    path.unlink()
    if kind == "directory":
        path.mkdir()
    elif kind == "symlink_loop":
        os.symlink(path, path)
    else:
        bad = KINDS[kind](good_bytes, voxels)
        if bad is not None:
            path.write_bytes(bad)
    assert kind in PATH_KINDS or kind in KINDS and good_bytes  # the good file was read before it was replaced


def prepare(write_spec, root: Path, store: CacheStore, **data):
    spec = tiny_spec_data(root, "bad", data=data) if data else tiny_spec_data(root, "bad")
    return prepare_data(load_spec(write_spec("bad", spec)), store, workers=1, progress=False)


@pytest.mark.parametrize("kind", [*KINDS, *sorted(PATH_KINDS)])
def test_a_bad_volume_is_one_line_naming_subject_and_file_and_is_skippable(kind, demo_copy, write_spec):
    root, store = demo_copy
    path = next(root.glob("sub-03/ses-3T/anat/*_T1w.nii.gz"))
    backup = path.with_name("good.bak")
    shutil.copyfile(path, backup)
    try:
        corrupt(path, kind)
        with pytest.raises(DataError) as caught:
            prepare(write_spec, root, store)
        message = str(caught.value)
        assert "\n" not in message and len(message) < 400, message
        assert "subject 03" in message and path.name.removesuffix(".gz") in message, message
        assert not [e for e in store.entries() if e.manifest["meta"].get("subject") == "03"]
        assert not list(store.root.glob("*/.tmp-*"))  # no half entry either
        data = prepare(write_spec, root, store, on_bad_subject="skip")
        assert list(data.skipped) == ["03"] and "03" not in data.preprocess_keys
    finally:
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        elif os.path.lexists(path):
            path.unlink()
        shutil.move(backup, path)


def test_there_are_at_least_twenty_kinds():
    assert len(KINDS) + len(PATH_KINDS) >= 20
