from __future__ import annotations

import torch

from mrsynth.nn import InputResidual, UNetGenerator
from mrsynth.spec.experiment import Experiment
from mrsynth.train.build import build_networks


def test_zero_body_is_the_identity_and_output_is_clipped():
    body = torch.nn.Conv2d(1, 1, 1)
    torch.nn.init.zeros_(body.weight)
    torch.nn.init.zeros_(body.bias)
    x = torch.rand(2, 1, 8, 8) * 2 - 1
    assert torch.equal(InputResidual(body)(x), x)
    torch.nn.init.constant_(body.bias, 5.0)
    assert torch.equal(InputResidual(body)(x), torch.ones_like(x))


def test_spec_residual_builds_a_correcting_unet():
    spec = {"name": "r", "data": {"slicing": {"size": [32, 32]}},
            "model": {"generator": {"kind": "unet", "depth": 3, "base_width": 4, "residual": True}}}
    generator = build_networks(Experiment.model_validate(spec)).generator
    assert isinstance(generator, InputResidual) and isinstance(generator.body, UNetGenerator)
    plain = build_networks(Experiment.model_validate({**spec, "model": {"generator": {"kind": "unet", "depth": 3}}})).generator
    assert isinstance(plain, UNetGenerator)
