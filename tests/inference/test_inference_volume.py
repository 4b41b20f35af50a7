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
    """A model file as a run writes it; its one target scale is the mean `mrsynth predict` maps back to."""
    torch.save({"generator": generator.state_dict(), "resolved_spec": json.dumps(exp.resolved()),
                "target_scales": {"only": list(target_scale)}, "format": "mrsynth-model-1"}, path)
    return str(path)


@pytest.mark.parametrize("dims", [2, 3])
def test_predict_command_and_run_test_volumes_give_the_same_voxels(dims, prepared_patch3d, tiny_demo, write_spec,
                                                                   tmp_path, monkeypatch):
    exp, data = prepared_patch3d
    if dims == 2:
        exp = load_spec(write_spec("unet2d", tiny_spec_data(tiny_demo, "unet2d"))).experiment
    torch.manual_seed(0)
    generator = build_networks(exp).generator
    subject = data.slices.subjects("test")[0]
    info = data.slices.facts["subjects"][subject]
    write_volumes(exp, generator, data, "test", tmp_path / "run")
    from_run = nib.load(tmp_path / "run" / f"sub-{subject}_pred.nii.gz")

    source = np.asarray(data.subject_volumes(subject).array("source"), dtype=np.float32)
    given = tmp_path / "input.nii.gz"
    nib.save(nib.Nifti1Image(source, from_run.affine), given)
    # the command's preprocessing is not under test: it hands over the cached source, all of it brain
    prepared = (source, np.ones(source.shape, dtype=bool), from_run.affine, (0.0, 1.0))
    monkeypatch.setattr("mrsynth.preprocess.pipeline.prepare_single", lambda *args, **kwargs: prepared)
    model = model_file(tmp_path / "model.pt", exp, generator, info["target_scale"])
    from_command = nib.load(predict_file(model, given, tmp_path / "pred.nii.gz", mask=given))

    np.testing.assert_allclose(from_command.affine, from_run.affine)
    run_voxels = np.asarray(from_run.dataobj)
    np.testing.assert_array_equal(np.asarray(from_command.dataobj), run_voxels)
    assert np.ptp(run_voxels) > 1e-3 * np.ptp(info["target_scale"])  # the network made an image, not a constant
