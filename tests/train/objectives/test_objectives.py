"""The objectives table covers every loss family of the spec, and each objective declares its networks."""

from __future__ import annotations

import typing

from mrsynth.spec.experiment import Experiment
from mrsynth.spec.loss import LOSS_KINDS, Loss, PairedLoss
from mrsynth.train.objectives import OBJECTIVES, build_objective


def loss_classes() -> set[type]:
    """The spec classes of the `loss` union (Annotated[Annotated[A, Tag] | ..., Discriminator])."""
    union = typing.get_args(Loss)[0]
    return {typing.get_args(member)[0] for member in typing.get_args(union)}


def test_every_loss_family_of_the_spec_has_an_objective():
    classes = loss_classes()
    assert classes == set(OBJECTIVES)
    assert {cls.model_fields["kind"].default for cls in classes} == set(LOSS_KINDS)


def test_build_objective_picks_the_row_of_the_loss_kind():
    for kind in LOSS_KINDS:
        exp = Experiment.model_validate({"name": "k", "loss": {"kind": kind}, "masking": {"kind": "none"}})
        assert type(build_objective(exp)) is OBJECTIVES[type(exp.loss)]


def test_paired_reconstruction_weights_name_each_term_in_order():
    loss = PairedLoss(l1=1.0, l2=2.0, gdl=3.0)
    assert loss.reconstruction_weights() == {"l1": 1.0, "l2": 2.0, "gdl": 3.0}
    assert list(loss.reconstruction_weights()) == ["l1", "l2", "gdl"]
    assert loss.reconstruction_weight() == 6.0


def test_only_cyclegan_refuses_distributed_training():
    refusing = {cls.model_fields["kind"].default for cls, objective in OBJECTIVES.items() if not objective.supports_distributed}
    assert refusing == {"cyclegan"}
