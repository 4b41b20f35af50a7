"""Loading checks: every unusable file is a DataError naming the subject and the file."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest

from mrsynth.errors import DataError
from mrsynth.preprocess.volumes import load_mask, load_volume


@pytest.fixture
def head(tmp_path, phantoms):
    image, brain, affine = phantoms.image("t1")
    return phantoms.save(tmp_path / "sub01_T1w.nii.gz", image, affine), image, brain, affine


AFFINE_2MM = np.diag([2.0, 2.0, 2.0, 1.0])


def _expect_data_error(call, subject: str, filename: str, words: str) -> DataError:
    with pytest.raises(DataError) as caught:
        call()
    message = str(caught.value)
    assert subject in message and filename in message and words in message, message
    return caught.value


def test_loads_canonical_ras(tmp_path, head, phantoms):
    _, image, _, affine = head
    # Store the same volume flipped along x (LAS): loading must give back the RAS array and affine.
    flip = np.diag([-1.0, 1, 1, 1])
    flip[0, 3] = image.shape[0] - 1
    path = phantoms.save(tmp_path / "las.nii.gz", image[::-1], affine @ flip)
    volume = load_volume("sub01", path)
    assert np.allclose(volume.affine, affine)
    assert np.array_equal(volume.array, image)
    assert volume.array.dtype == np.float32


def test_trailing_singleton_axis_is_3d(tmp_path, head, phantoms):
    _, image, _, affine = head
    volume = load_volume("sub01", phantoms.save(tmp_path / "x.nii.gz", image[..., None], affine))
    assert volume.array.shape == image.shape


def test_missing_file(tmp_path):
    _expect_data_error(lambda: load_volume("sub07", tmp_path / "absent_T1w.nii.gz"), "sub07", "absent_T1w.nii.gz",
                       "not found")


def test_truncated_gzip(tmp_path, head):
    path = head[0]
    data = path.read_bytes()
    truncated = tmp_path / "cut_T1w.nii.gz"
    truncated.write_bytes(data[: len(data) // 2])
    _expect_data_error(lambda: load_volume("sub02", truncated), "sub02", "cut_T1w.nii.gz", "truncated or corrupt")


def test_garbage_file(tmp_path):
    path = tmp_path / "junk_T1w.nii.gz"
    path.write_bytes(gzip.compress(b"this is not a nifti header" * 20))
    _expect_data_error(lambda: load_volume("sub03", path), "sub03", "junk_T1w.nii.gz", "cannot read")


def test_4d_volume(tmp_path, phantoms):
    path = phantoms.save(tmp_path / "bold.nii.gz", np.ones((8, 8, 8, 3), np.float32), AFFINE_2MM)
    _expect_data_error(lambda: load_volume("sub04", path), "sub04", "bold.nii.gz", "3D volume")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_voxels(tmp_path, head, bad, phantoms):
    _, image, _, affine = head
    image = image.copy()
    image[3, 4, 5] = bad
    path = phantoms.save(tmp_path / "nan_T1w.nii.gz", image, affine)
    _expect_data_error(lambda: load_volume("sub05", path), "sub05", "nan_T1w.nii.gz", "NaN or Inf")


def test_constant_volume(tmp_path, phantoms):
    path = phantoms.save(tmp_path / "zeros.nii.gz", np.zeros((8, 8, 8), np.float32), AFFINE_2MM)
    _expect_data_error(lambda: load_volume("sub06", path), "sub06", "zeros.nii.gz", "constant")


def test_mask_reoriented_with_its_image(tmp_path, head, phantoms):
    path, image, brain, affine = head
    flip = np.diag([1.0, -1, 1, 1])
    flip[1, 3] = image.shape[1] - 1
    las_image = phantoms.save(tmp_path / "img.nii.gz", image[:, ::-1], affine @ flip)
    las_mask = phantoms.save(tmp_path / "mask.nii.gz", brain[:, ::-1].astype(np.uint8), affine @ flip)
    mask = load_mask("sub01", las_mask, las_image)
    assert mask.dtype == bool and np.array_equal(mask, brain)


def test_mask_grid_mismatch(tmp_path, head, phantoms):
    path, image, brain, affine = head
    shifted = affine.copy()
    shifted[0, 3] += 2.0
    mask_path = phantoms.save(tmp_path / "brainmask.nii.gz", brain.astype(np.uint8), shifted)
    _expect_data_error(lambda: load_mask("sub08", mask_path, path), "sub08", "brainmask.nii.gz", "does not match")
    small = phantoms.save(tmp_path / "smallmask.nii.gz", brain[:-1].astype(np.uint8), affine)
    _expect_data_error(lambda: load_mask("sub08", small, path), "sub08", "smallmask.nii.gz", "does not match")


def test_scaled_integer_data_read_as_float(tmp_path):
    # A scl_slope in the header must be applied, as any NIfTI reader would.
    image = nib.Nifti1Image(np.arange(512, dtype=np.int16).reshape(8, 8, 8), AFFINE_2MM)
    image.header.set_slope_inter(0.5, 10.0)
    path = tmp_path / "scaled.nii.gz"
    nib.save(image, str(path))
    volume = load_volume("sub09", path)
    assert volume.array[0, 0, 1] == pytest.approx(10.5)
