"""Unpaired sampling and the unpaired objectives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mrsynth.spec.experiment import Experiment
from mrsynth.train.batches import SliceArrays, UnpairedSlices
from mrsynth.train.build import CycleDiscriminators, CycleGenerators, build_networks
from mrsynth.train.objectives import build_objective


def labelled_slices(subject_sizes: list[int], side: int = 8) -> UnpairedSlices:
    """Slices whose every pixel holds the subject's number: source k, target -k (so each image names its subject)."""
    subjects = np.concatenate([np.full(n, k + 1) for k, n in enumerate(subject_sizes)])
    source = np.broadcast_to(subjects[:, None, None], (len(subjects), side, side)).astype(np.float32)
    masks = np.ones((len(subjects), 3, side, side), dtype=np.uint8)
    return UnpairedSlices(SliceArrays(source.copy(), -source.copy(), masks, np.arange(len(subjects))), subjects)


def test_a_source_slice_never_meets_its_own_subject():
    data = labelled_slices([1, 7, 2, 5])  # a lone slice and uneven subjects make clashes likely
    for epoch in range(20):
        partner = data.partners(seed=3, epoch=epoch)
        assert (data.subjects[partner] != data.subjects).all()


def test_batches_pair_images_of_different_subjects_and_follow_seed_and_epoch():
    data = labelled_slices([4, 4, 4])
    for epoch in range(5):
        for batch in data.epoch_batches(4, seed=1, epoch=epoch, flips=True):
            source_subject = batch.source[:, 0, 0, 0]
            target_subject = -batch.target[:, 0, 0, 0]
            assert (source_subject != target_subject).all()
            assert (batch.masks[:, 2] == 0).all()  # no intersection mask between different heads

    def targets(seed, epoch):
        return torch.cat([b.target for b in data.epoch_batches(4, seed, epoch, flips=False)])

    assert torch.equal(targets(1, 0), targets(1, 0))
    assert not torch.equal(targets(1, 0), targets(1, 1))


def test_unpaired_sampling_needs_two_subjects():
    with pytest.raises(ValueError, match="at least two subjects"):
        labelled_slices([6])


def test_cyclegan_builds_two_generators_and_two_discriminators():
    exp = Experiment.model_validate({
        "name": "c", "data": {"slicing": {"size": [16, 16]}}, "loss": {"kind": "cyclegan"},
        "model": {"generator": {"kind": "resnet", "n_blocks": 1, "base_width": 4},
                  "discriminator": {"kind": "patchgan", "n_layers": 1, "base_width": 4}},
    })
    nets = build_networks(exp)
    assert isinstance(nets.generator, CycleGenerators) and isinstance(nets.discriminator, CycleDiscriminators)
    x = torch.randn(2, 1, 16, 16)
    assert torch.equal(nets.generator(x), nets.generator.forward_net(x))
    assert nets.discriminator.target(x).shape[1] == 1  # unconditional: one input channel
    half = sum(p.numel() for p in nets.generator.forward_net.parameters())
    assert nets.parameter_counts()["generator"] == 2 * half


def test_cyclegan_image_pools_survive_a_checkpoint():
    exp = Experiment.model_validate({"name": "c", "loss": {"kind": "cyclegan", "pool_size": 4}, "masking": {"kind": "none"}})
    objective = build_objective(exp)
    objective.pools["target"].query(torch.randn(3, 1, 8, 8))
    state = objective.state_dict()
    restored = build_objective(exp)
    restored.load_state_dict(state)
    assert len(restored.pools["target"]) == 3 and len(restored.pools["source"]) == 0
    assert all(torch.equal(a, b) for a, b in zip(restored.pools["target"].images, objective.pools["target"].images, strict=True))


def test_nec_terms_are_adversarial_and_ngf_and_contrast_inversion_is_free():
    exp = Experiment.model_validate({
        "name": "n", "data": {"slicing": {"size": [16, 16]}}, "loss": {"kind": "nec", "ngf": 2.0},
        "model": {"generator": {"kind": "resnet", "n_blocks": 1, "base_width": 4},
                  "discriminator": {"kind": "patchgan", "n_layers": 1, "base_width": 4}},
    })
    objective, nets = build_objective(exp), build_networks(exp)
    source = torch.nn.functional.avg_pool2d(torch.randn(2, 1, 20, 20), 5, stride=1)  # smooth 16x16 structure
    batch = labelled_slices([1, 1], side=16).arrays  # only for its shapes
    from mrsynth.train.batches import Batch

    batch = Batch(source, torch.randn_like(source), torch.ones(2, 3, 16, 16))
    inverted = objective.generator_terms(nets.generator, nets.discriminator, batch, {"fake": -3 * source + 0.5})
    moved = objective.generator_terms(nets.generator, nets.discriminator, batch, {"fake": source.roll(3, dims=-1)})
    assert set(inverted) == {"g_ngf", "g_adversarial", "g_total"}
    assert inverted["g_ngf"] < moved["g_ngf"]


def test_flips_mirror_left_right_and_sagittal_slices_are_not_flipped():
    from mrsynth.train.batches import left_right_dim, make_batch

    ramp = np.broadcast_to(np.arange(6, dtype=np.float32)[:, None], (1, 6, 6)).copy()  # varies along x only
    masks = np.ones((1, 3, 6, 6), dtype=np.uint8)
    axial = make_batch(SliceArrays(ramp, ramp, masks, np.arange(1), left_right_dim(2)), np.arange(1), np.array([True]))
    assert torch.equal(axial.source[0, 0], torch.from_numpy(ramp[0, ::-1].copy()))
    sagittal = make_batch(SliceArrays(ramp, ramp, masks, np.arange(1), left_right_dim(0)), np.arange(1), np.array([True]))
    assert torch.equal(sagittal.source[0, 0], torch.from_numpy(ramp[0]))
