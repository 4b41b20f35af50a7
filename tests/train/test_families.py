"""Every model family trains through the one `fit` loop: a few steps lower its main training loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from mrsynth.spec.experiment import Experiment
from mrsynth.train.batches import SliceArrays, UnpairedSlices
from mrsynth.train.build import build_networks
from mrsynth.train.loop import fit
from mrsynth.train.patches3d import PatchSubject, PatchTrainingSet

pytestmark = pytest.mark.slow

SIDE = 16
TRAIN = {"epochs": 5, "decay_epochs": 0, "batch_size": 4, "lr_g": 2e-3, "lr_d": 2e-4, "flips": False, "seed": 0}
SMALL_D = {"kind": "patchgan", "n_layers": 1, "base_width": 4}
FAMILIES = {
    "pix2pix": ({"generator": {"kind": "unet", "depth": 2, "base_width": 4}, "discriminator": SMALL_D},
                {"l1": 10.0, "adversarial": 0.1}, ("g_l1",)),
    "nie-2d": ({"generator": {"kind": "dilated_fcn", "widths": [8, 8, 8, 1]},
                "discriminator": {"kind": "cnn", "widths": [4, 4, 4, 4], "fc": [8, 1]}},
               {"l1": 0.0, "l2": 1.0, "gdl": 1.0, "adversarial": 0.05, "conditional": False}, ("g_l2",)),
    "nie-3d": ({"generator": {"kind": "dilated_fcn", "dims": 3, "widths": [4, 4, 1], "residual": True},
                "discriminator": {"kind": "cnn", "widths": [2, 2, 2, 2], "fc": [4, 1]}},
               {"l1": 0.0, "l2": 1.0, "gdl": 1.0, "adversarial": 0.05, "conditional": False}, ("g_l2",)),
    "nec": ({"generator": {"kind": "resnet", "n_blocks": 1, "base_width": 4}, "discriminator": SMALL_D},
            {"kind": "nec", "ngf": 5.0, "ngf_eps": 0.05, "adversarial": 0.1}, ("g_ngf",)),
    "cyclegan": ({"generator": {"kind": "resnet", "n_blocks": 1, "base_width": 4}, "discriminator": SMALL_D},
                 {"kind": "cyclegan", "pool_size": 4}, ("g_cycle_source", "g_cycle_target")),
}


def smooth_volumes(n: int, rng: np.random.Generator) -> np.ndarray:
    """Blobby images in [-1, 1]: structure a generator can keep or translate."""
    noise = ndimage.gaussian_filter(rng.standard_normal((n, SIDE, SIDE, SIDE)), sigma=(0, 2, 2, 2))
    return np.tanh(noise / noise.std()).astype(np.float32)


def experiment(name: str) -> Experiment:
    model, loss, _ = FAMILIES[name]
    data: dict = {"slicing": {"size": [SIDE, SIDE]}}
    if name == "nie-3d":
        data["patches"] = {"size": [8, 8, 8], "per_subject": 8, "stride": 4}
    if loss.get("kind") in ("nec", "cyclegan"):
        data["dataset"] = {"kind": "bids", "paired": False}
    return Experiment.model_validate({"name": name, "data": data, "model": model, "loss": loss, "train": TRAIN,
                                      "eval": {"every": 100}, "masking": {"kind": "none"}})


def training_set(exp: Experiment):
    rng = np.random.default_rng(0)
    source = smooth_volumes(3, rng)
    target = -0.8 * source + 0.1  # a contrast inversion: learnable, and structure-preserving
    if exp.data.patches is not None:
        masks = np.ones((3, SIDE, SIDE, SIDE), dtype=np.uint8)
        subjects = [PatchSubject(f"s{i}", source[i], target[i], masks, np.arange(SIDE)) for i in range(3)]
        return PatchTrainingSet(subjects, (8, 8, 8), 8, axis=2)
    slices = lambda v: np.moveaxis(v, 3, 1).reshape(-1, SIDE, SIDE)  # noqa: E731  (subject, z) → rows
    arrays = SliceArrays(slices(source), slices(target), np.ones((3 * SIDE, 3, SIDE, SIDE), dtype=np.uint8),
                         np.arange(3 * SIDE))
    return arrays if exp.data.dataset.paired else UnpairedSlices(arrays, np.repeat(np.arange(3), SIDE))


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_a_few_epochs_lower_the_training_loss(name, tmp_path):
    torch.manual_seed(0)
    exp = experiment(name)
    nets = build_networks(exp)
    result = fit(exp, nets, training_set(exp), lambda: ({}, None), torch.device("cpu"), ckpt_dir=tmp_path, progress=False)
    terms = FAMILIES[name][2]
    first, last = (sum(result.history[i][f"train/{t}"] for t in terms) for i in (0, -1))
    assert np.isfinite(first) and last < 0.95 * first, f"{name}: {terms} {first:.4f} -> {last:.4f}"
    assert (tmp_path / "last.pt").is_file()
