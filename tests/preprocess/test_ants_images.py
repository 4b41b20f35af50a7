"""nibabel (RAS) ↔ ANTs (LPS) conversions keep the voxels and the world geometry."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from mrsynth.preprocess.ants_images import from_ants, itk_affine_to_ras, to_ants
from mrsynth.preprocess.threads import load_ants


@pytest.fixture
def oblique(phantoms):
    affine = phantoms.motion((3.0, -4.0, 5.0), degrees_about_z=20.0, degrees_about_x=10.0) @ np.diag([1.2, 0.9, 2.5, 1])
    array = np.random.default_rng(0).random((12, 10, 8)).astype(np.float32)
    return array, affine


def test_round_trip_keeps_array_and_affine(tmp_path, oblique):
    array, affine = oblique
    path = tmp_path / "x.nii.gz"
    nib.save(nib.Nifti1Image(array, affine), str(path))
    loaded = nib.load(str(path))
    back_array, back_affine = from_ants(to_ants(np.asarray(loaded.dataobj), loaded.affine))
    assert np.array_equal(back_array, array)
    assert np.allclose(back_affine, affine, atol=1e-5)


def test_voxel_world_positions_agree_with_itk(oblique):
    array, affine = oblique
    image = to_ants(array, affine)
    ants = load_ants()
    for index in [(0, 0, 0), (11, 0, 3), (4, 9, 7)]:
        ras = affine[:3, :3] @ np.asarray(index, float) + affine[:3, 3]
        lps = np.asarray(ants.transform_index_to_physical_point(image, index))
        assert np.allclose(lps, ras * [-1, -1, 1], atol=1e-4)


def test_itk_affine_to_ras_matches_point_transform(oblique):
    # An ITK transform maps LPS points; the RAS matrix must map the same points expressed in RAS.
    ants = load_ants()
    transform = ants.create_ants_transform(transform_type="AffineTransform", dimension=3)
    transform.set_parameters([1.02, 0.05, -0.03, -0.04, 0.98, 0.02, 0.01, -0.02, 1.01, 4.0, -2.0, 3.0])
    transform.set_fixed_parameters([10.0, -5.0, 2.0])
    ras_matrix = itk_affine_to_ras(transform.parameters, transform.fixed_parameters)
    point_ras = np.array([12.0, -30.0, 7.5])
    moved_lps = np.asarray(transform.apply_to_point(tuple(point_ras * [-1, -1, 1])))
    assert np.allclose((ras_matrix @ np.append(point_ras, 1))[:3], moved_lps * [-1, -1, 1], atol=1e-4)
