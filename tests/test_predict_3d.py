"""`mrsynth predict` with a 3D-patch model: the whole volume predicted by overlapping patches, on the input's grid."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest
import torch

from mrsynth.checkpoint import save_checkpoint
from mrsynth.predict import load_model, predict_file
from mrsynth.preprocess.normalise import denormalise
from mrsynth.preprocess.pipeline import prepare_single
from mrsynth.spec.load import load_spec
from mrsynth.train.build import build_networks
from mrsynth_testing import tiny_spec_data

SCALE = (10.0, 250.0)


@pytest.fixture
def tanh_model(tmp_path, write_spec):
    """A 3D DilatedFCN model file whose residual net computes tanh(input): a zeroed last layer."""
    spec = tiny_spec_data(tmp_path / "data", "fcn3d", data={"patches": {"size": [16, 16, 16], "stride": 8},
                                                            "preprocess": {"n4": {"enabled": False}}},
                          loss={"adversarial": 0.0})
    spec["model"] = {"generator": {"kind": "dilated_fcn", "widths": [4, 4, 1], "dims": 3, "residual": True},
                     "discriminator": {"kind": "none"}}
    exp = load_spec(write_spec("fcn3d", spec)).experiment
    generator = build_networks(exp).generator
    with torch.no_grad():
        generator.last.weight.zero_()
        generator.last.bias.zero_()
    path = tmp_path / "model.pt"
    save_checkpoint(path, {"generator": generator.state_dict(), "resolved_spec": json.dumps(exp.resolved()),
                           "spec_hash": "test", "target_scales": {"01": list(SCALE)}, "format": "mrsynth-model-1",
                           "torch": str(torch.__version__)})
    return path


def head(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A smooth, textured ellipsoid 'head' and its brain mask."""
    grid = np.stack(np.meshgrid(*(np.linspace(-1, 1, n) for n in shape), indexing="ij"))
    brain = np.square(grid / 0.8).sum(axis=0) < 1
    texture = np.random.default_rng(0).uniform(0, 40, shape)
    return np.where(brain, 100 + 80 * grid[0] + texture, 0).astype(np.float32), brain.astype(np.uint8)


def write(folder, name: str, volume: np.ndarray, mask: np.ndarray, affine: np.ndarray):
    paths = folder / f"{name}.nii.gz", folder / f"{name}_mask.nii.gz"
    nib.save(nib.Nifti1Image(volume, affine), paths[0])
    nib.save(nib.Nifti1Image(mask, affine), paths[1])
    return paths


def test_whole_volume_is_predicted_by_patches(tanh_model, tmp_path):
    volume, mask = head((12, 26, 21))  # x thinner than a patch: padded for the prediction
    affine = np.diag([1.2, 1.0, 1.5, 1.0])
    affine[:3, 3] = [-7, 3, 11]
    source, mask_path = write(tmp_path, "ras", volume, mask, affine)
    out = predict_file(str(tanh_model), source, tmp_path / "pred.nii.gz", mask_path)
    image = nib.load(out)
    assert image.shape == volume.shape
    np.testing.assert_allclose(image.affine, affine, atol=1e-5)
    array, brain, _, _ = prepare_single("input", source, mask_path, load_model(tanh_model)[0].data.preprocess, role="source")
    expected = np.where(brain, denormalise(np.tanh(array), SCALE), denormalise(np.array([-1.0]), SCALE)[0])
    np.testing.assert_allclose(np.asarray(image.dataobj), expected, rtol=1e-5, atol=1e-3)
    assert np.ptp(np.asarray(image.dataobj)[brain.astype(bool)]) > 10  # not a constant: the brain was predicted


def test_reoriented_input_gives_the_same_prediction_on_its_own_grid(tanh_model, tmp_path):
    volume, mask = head((18, 22, 20))
    ras = nib.Nifti1Image(volume, np.diag([1.0, 1.0, 1.0, 1.0]))
    lpi = ras.as_reoriented(np.array([[1, -1], [0, -1], [2, 1]]))  # x and y mirrored: not canonical
    lpi_mask = nib.Nifti1Image(mask, ras.affine).as_reoriented(np.array([[1, -1], [0, -1], [2, 1]]))
    paths = {name: write(tmp_path, name, np.asarray(img.dataobj), np.asarray(m.dataobj), img.affine)
             for name, img, m in (("ras", ras, nib.Nifti1Image(mask, ras.affine)), ("lpi", lpi, lpi_mask))}
    preds = {name: nib.load(predict_file(str(tanh_model), source, tmp_path / f"{name}_pred.nii.gz", mask_path))
             for name, (source, mask_path) in paths.items()}
    assert preds["lpi"].shape == lpi.shape
    np.testing.assert_allclose(preds["lpi"].affine, lpi.affine, atol=1e-5)
    back = np.asarray(nib.as_closest_canonical(preds["lpi"]).dataobj)
    np.testing.assert_allclose(back, np.asarray(preds["ras"].dataobj), rtol=1e-5, atol=1e-3)
    again = nib.load(predict_file(str(tanh_model), paths["lpi"][0], tmp_path / "again.nii.gz", paths["lpi"][1]))
    np.testing.assert_array_equal(np.asarray(again.dataobj), np.asarray(preds["lpi"].dataobj))

