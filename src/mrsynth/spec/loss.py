"""The `loss` section: what the generator and discriminator optimise, one family per `kind`.

`paired` (pix2pix, Nie et al.) compares the output with the subject's own target; `nec` and `cyclegan`
learn from unpaired data. A spec without `kind` is `paired`, so older specs keep their meaning."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag

from mrsynth.spec.base import StrictModel

AdversarialKind = Literal["bce", "lsgan"]


class PairedLoss(StrictModel):
    """Reconstruction against the target (L1, L2, image gradient difference) plus an optional adversarial term."""

    kind: Literal["paired"] = "paired"
    l1: float = Field(default=100.0, ge=0)
    """λ of the L1 reconstruction loss against the target."""
    l2: float = Field(default=0.0, ge=0)
    """λ of the L2 reconstruction loss against the target."""
    gdl: float = Field(default=0.0, ge=0)
    """λ of the image gradient difference loss (Nie et al.): gradient magnitudes of output and target agree."""
    gdl_exponent: float = Field(default=2.0, gt=0, le=4)
    """Exponent p of the gradient difference loss."""
    adversarial: float = Field(default=1.0, ge=0)
    """λ of the generator's adversarial loss."""
    adversarial_kind: AdversarialKind = "bce"
    """`bce`: vanilla GAN; `lsgan`: least squares."""
    conditional: bool = True
    """The discriminator judges (source, image) pairs as in pix2pix; false: the image alone (Nie et al.)."""

    def reconstruction_weights(self) -> dict[str, float]:
        """λ of each reconstruction term by name, in the order the objective adds them."""
        return {"l1": self.l1, "l2": self.l2, "gdl": self.gdl}

    def reconstruction_weight(self) -> float:
        return sum(self.reconstruction_weights().values())


class NECLoss(StrictModel):
    """NEC, one-sided unpaired: adversarial realism plus structure kept through the normalized gradient field."""

    kind: Literal["nec"] = "nec"
    adversarial: float = Field(default=1.0, ge=0)
    """λ of the generator's adversarial loss (the discriminator sees target-domain images alone)."""
    adversarial_kind: AdversarialKind = "lsgan"
    """`bce`: vanilla GAN; `lsgan`: least squares."""
    ngf: float = Field(default=1.0, ge=0)
    """λ of the NGF loss 1 − ½⟨n_ε(s), n_ε(G(s))⟩² between the source and the output."""
    ngf_eps: float = Field(default=0.15, gt=0)
    """ε of n_ε(I) = ∇I / (‖∇I‖ + ε), in intensity units per voxel of the [-1, 1] images."""

    def reconstruction_weight(self) -> float:
        return self.ngf


class CycleGANLoss(StrictModel):
    """CycleGAN, two-sided unpaired: two generators, two discriminators, cycle and identity losses."""

    kind: Literal["cyclegan"] = "cyclegan"
    adversarial: float = Field(default=1.0, ge=0)
    """λ of both generators' adversarial losses."""
    adversarial_kind: AdversarialKind = "lsgan"
    """`lsgan` as in CycleGAN; `bce` for the vanilla GAN loss."""
    cycle_a: float = Field(default=10.0, ge=0)
    """λ_A of the source cycle ‖F(G(a)) − a‖₁."""
    cycle_b: float = Field(default=10.0, ge=0)
    """λ_B of the target cycle ‖G(F(b)) − b‖₁."""
    identity: float = Field(default=0.5, ge=0)
    """Identity loss ‖G(b) − b‖₁ + ‖F(a) − a‖₁, weighted by this factor times λ_B and λ_A."""
    pool_size: int = Field(default=50, ge=0, le=1000)
    """Past fakes the discriminators also see (0: none)."""

    def reconstruction_weight(self) -> float:
        return self.cycle_a + self.cycle_b


def _loss_kind(value: Any) -> str:
    if isinstance(value, dict):
        return value.get("kind", "paired")
    return getattr(value, "kind", "paired")


Loss = Annotated[
    Annotated[PairedLoss, Tag("paired")] | Annotated[NECLoss, Tag("nec")] | Annotated[CycleGANLoss, Tag("cyclegan")],
    Discriminator(_loss_kind),
]
LOSS_KINDS = ("paired", "nec", "cyclegan")
