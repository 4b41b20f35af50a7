"""An Optimisation's state_dict → load_state_dict restores every member: Adam moments, lr schedules, scaler."""

from __future__ import annotations

import torch

from mrsynth.spec.experiment import Experiment
from mrsynth.train.build import build_networks
from mrsynth.train.optimisation import Optimisation, build_optimisation

EXP = Experiment.model_validate({
    "name": "o", "data": {"slicing": {"size": [16, 16]}}, "masking": {"kind": "none"},
    "train": {"epochs": 6, "decay_epochs": 4},
    "model": {"generator": {"kind": "resnet", "n_blocks": 1, "base_width": 4},
              "discriminator": {"kind": "patchgan", "n_layers": 1, "base_width": 4}},
})


def trained_optimisation() -> Optimisation:
    """Two epochs of one step each: Adam has moments, the schedules have moved into the decay, the scale grew."""
    torch.manual_seed(0)
    nets = build_networks(EXP)
    optimisation = build_optimisation(EXP.train, nets, True, torch.device("cpu"), amp=True)
    x = torch.randn(2, 1, 16, 16)
    for _ in range(2):
        for net, opt in ((nets.generator, optimisation.opt_g), (nets.discriminator, optimisation.opt_d)):
            opt.zero_grad()
            optimisation.scaler.scale(net(x if net is nets.generator else torch.cat([x, x], 1)).square().mean()).backward()
            optimisation.scaler.step(opt)
        optimisation.scaler.update(optimisation.scaler.get_scale() * 3)
        optimisation.end_epoch()
    return optimisation


def fresh_optimisation() -> Optimisation:
    return build_optimisation(EXP.train, build_networks(EXP), True, torch.device("cpu"), amp=True)


def adam_moments(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [state["exp_avg"] for state in opt.state.values()]


def test_round_trip_restores_schedule_position_moments_and_scale():
    original, restored = trained_optimisation(), fresh_optimisation()
    restored.load_state_dict(original.state_dict())
    assert restored.sched_g.last_epoch == restored.sched_d.last_epoch == 2
    assert restored.learning_rates() == original.learning_rates()
    assert restored.learning_rates()["lr/generator"] < EXP.train.lr_g  # in the decay, not the default
    for opt in ("opt_g", "opt_d"):
        moments, expected = adam_moments(getattr(restored, opt)), adam_moments(getattr(original, opt))
        assert len(moments) == len(expected) > 0, opt
        assert all(torch.equal(a, b) for a, b in zip(moments, expected, strict=True)), opt
    assert restored.scaler.get_scale() == original.scaler.get_scale() != fresh_optimisation().scaler.get_scale()
    original.end_epoch(), restored.end_epoch()
    assert restored.learning_rates() == original.learning_rates()  # the next epoch's rates agree too


def test_state_dict_keys_are_the_checkpoints_top_level_keys():
    assert set(trained_optimisation().state_dict()) == {"opt_g", "opt_d", "sched_g", "sched_d", "scaler"}
