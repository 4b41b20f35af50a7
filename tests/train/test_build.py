"""build_networks builds exactly the networks the experiment's objective declares."""

from __future__ import annotations

import pytest
import torch

from mrsynth.spec.experiment import Experiment
from mrsynth.train.build import CycleDiscriminators, CycleGenerators, build_networks
from mrsynth.train.objectives import build_objective

SIDE = 16
NETS = {"generator": {"kind": "resnet", "n_blocks": 1, "base_width": 4},
        "discriminator": {"kind": "patchgan", "n_layers": 1, "base_width": 4}}
LOSSES = {
    "paired-conditional": {"kind": "paired"},
    "paired-image-only": {"kind": "paired", "conditional": False},
    "paired-no-adversarial": {"kind": "paired", "adversarial": 0.0},
    "nec": {"kind": "nec"},
    "cyclegan": {"kind": "cyclegan", "pool_size": 2},
}


def experiment(loss: dict, model: dict = NETS) -> Experiment:
    return Experiment.model_validate({"name": "b", "data": {"slicing": {"size": [SIDE, SIDE]}}, "model": model,
                                      "loss": loss, "masking": {"kind": "none"}})


def members(net, pair_type, names: tuple[str, str]) -> list:
    """The one network, or the two of a two-direction pair."""
    return [getattr(net, name) for name in names] if isinstance(net, pair_type) else [net]


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_built_networks_match_the_objectives_declaration(name):
    exp = experiment(LOSSES[name])
    needs, nets = build_objective(exp).needs(), build_networks(exp)
    generators = members(nets.generator, CycleGenerators, ("forward_net", "backward_net"))
    discriminators = members(nets.discriminator, CycleDiscriminators, ("target", "source"))
    assert len(generators) == len(discriminators) == needs.directions
    assert len({id(net) for net in generators + discriminators}) == 2 * needs.directions  # no network shared
    image = torch.randn(2, needs.discriminator_channels, SIDE, SIDE)
    assert all(d(image).shape[1] == 1 for d in discriminators)  # they take the declared channels
    assert all(g(image[:, :1]).shape == (2, 1, SIDE, SIDE) for g in generators)


def test_cyclegan_declares_two_directions_and_pix2pix_a_conditional_discriminator():
    assert build_objective(experiment(LOSSES["cyclegan"])).needs().directions == 2
    assert build_objective(experiment(LOSSES["paired-conditional"])).needs().directions == 1
    assert build_objective(experiment(LOSSES["paired-conditional"])).needs().discriminator_channels == 2


def test_a_spec_without_discriminator_builds_none_in_either_direction():
    for name in ("paired-conditional", "cyclegan"):
        nets = build_networks(experiment(LOSSES[name], {**NETS, "discriminator": {"kind": "none"}}))
        assert nets.discriminator is None
