"""One whole-volume prediction: `mrsynth predict` and a run's test volumes give the same voxels for the same input."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
import torch

from mrsynth.predict import predict_file
from mrsynth.spec.load import load_spec
from mrsynth.train.build import build_networks
from mrsynth.train.evaluate import write_volumes
from mrsynth_testing import tiny_spec_data


def model_file(path, exp, generator, target_scale) -> str:
    """A model file as a run writes it, with the one scale both paths write on."""
    torch.save({"generator": generator.state_dict(), "resolved_spec": json.dumps(exp.resolved()),
                "target_scales": {"only": list(target_scale)}, "target_scale": list(target_scale),
                "format": "mrsynth-model-1"}, path)
    return str(path)


@pytest.mark.parametrize("dims", [2, 3])
def test_predict_command_and_run_test_volumes_give_the_same_voxels(dims, prepared_patch3d, tiny_demo, write_spec,
                                                                   tmp_path):
    """The cached source of a test subject written as NIfTI with its brain mask: `predict --preprocessed` on it
    gives the run's test volume exactly, with the background value outside the mask in both."""
    exp, data = prepared_patch3d
    if dims == 2:
        exp = load_spec(write_spec("unet2d", tiny_spec_data(tiny_demo, "unet2d"))).experiment
    torch.manual_seed(0)
    generator = build_networks(exp).generator
    subject = data.slices.subjects("test")[0]
    scale = (12.0, 345.0)
    write_volumes(exp, generator, data, "test", tmp_path / "run", scale)
    from_run = nib.load(tmp_path / "run" / f"sub-{subject}_pred.nii.gz")

    volumes = data.subject_volumes(subject)
    given, mask = tmp_path / "input.nii.gz", tmp_path / "mask.nii.gz"
    nib.save(nib.Nifti1Image(np.asarray(volumes.array("source")), from_run.affine), given)
    nib.save(nib.Nifti1Image(np.asarray(volumes.array("source_mask"), dtype=np.uint8), from_run.affine), mask)
    model = model_file(tmp_path / "model.pt", exp, generator, scale)
    from_command = nib.load(predict_file(model, given, tmp_path / "pred.nii.gz", mask=mask, preprocessed=True))

    np.testing.assert_allclose(from_command.affine, from_run.affine)
    run_voxels = np.asarray(from_run.dataobj)
    np.testing.assert_array_equal(np.asarray(from_command.dataobj), run_voxels)
    brain = np.asarray(volumes.array("source_mask"), dtype=bool)
    assert (run_voxels[~brain] == scale[0]).all()  # background: -1 normalised, the scale's low end
    assert np.ptp(run_voxels[brain]) > 1e-3 * np.ptp(scale)  # the network made an image, not a constant


def test_preprocessed_input_needs_its_mask_and_normalised_intensities(tmp_path):
    from mrsynth.errors import MrsynthError
    from mrsynth.predict import preprocessed_input

    raw, mask = tmp_path / "raw.nii.gz", tmp_path / "mask.nii.gz"
    volume = np.random.default_rng(0).uniform(0, 800, (12, 12, 12)).astype(np.float32)
    nib.save(nib.Nifti1Image(volume, np.eye(4)), raw)
    nib.save(nib.Nifti1Image(np.ones(volume.shape, np.uint8), np.eye(4)), mask)
    with pytest.raises(MrsynthError, match="--preprocessed needs --mask"):
        preprocessed_input(raw, None)
    with pytest.raises(MrsynthError, match="a raw scan"):
        preprocessed_input(raw, mask)
