"""Reconstruction losses restricted to a mask, and the adversarial losses of pix2pix-style GANs."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

ADVERSARIAL_KINDS = ("bce", "lsgan")
Logits = torch.Tensor | Sequence[torch.Tensor]


def _masked_mean(error: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of `error` over the mask's elements in the whole batch; 0 (finite, zero gradient) if the mask is empty."""
    error = error.float()  # sums over a batch of large slices overflow float16 under AMP
    if mask is None:
        return error.mean()
    weights = mask.to(error.dtype).expand_as(error)
    # an empty mask gives 0 / tiny = 0, never 0 / 0
    return (error * weights).sum() / weights.sum().clamp_min(torch.finfo(error.dtype).tiny)


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute error over the pixels where `mask` is set, pooled over the whole batch.

    `mask` (bool or float weights >= 0) must broadcast to `pred`, e.g. (N, 1, H, W) for (N, C, H, W);
    the sum is divided by the number of (broadcast) mask elements, not the image size, so a small
    brain is not down-weighted. Pixels outside the mask get exactly zero gradient. If the mask is
    empty for the whole batch the loss is 0 (no contribution, finite gradients); `None` = whole image.
    """
    return _masked_mean((pred - target).abs(), mask)


def masked_l2(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error over the pixels where `mask` is set; same conventions as `masked_l1`."""
    return _masked_mean((pred - target).square(), mask)


def _as_list(logits: Logits) -> list[torch.Tensor]:
    return [logits] if isinstance(logits, torch.Tensor) else list(logits)


class AdversarialLoss:
    """GAN loss on discriminator logits: `bce` (sigmoid cross-entropy) or `lsgan` (least squares).

    Both methods take one logit map or a list of maps (multi-scale discriminator); with a list the
    loss is the mean over scales. The discriminator loss is halved, (real + fake) / 2, as pix2pix
    does to slow D relative to G.
    """

    def __init__(self, kind: str = "bce"):
        if kind not in ADVERSARIAL_KINDS:
            raise ValueError(f"adversarial loss kind must be one of {', '.join(ADVERSARIAL_KINDS)}; got {kind!r}")
        self.kind = kind

    def _against(self, logits: torch.Tensor, label: float) -> torch.Tensor:
        logits = logits.float()
        target = torch.full_like(logits, label)
        if self.kind == "bce":
            # the with-logits form is numerically stable and autocast-safe
            return F.binary_cross_entropy_with_logits(logits, target)
        return F.mse_loss(logits, target)

    def _mean_over_scales(self, logits: Logits, label: float) -> torch.Tensor:
        maps = _as_list(logits)
        if not maps:
            raise ValueError("adversarial loss needs at least one logit map; got an empty list")
        return torch.stack([self._against(m, label) for m in maps]).mean()

    def generator(self, fake_logits: Logits) -> torch.Tensor:
        """Loss for G: the discriminator should call the fakes real."""
        return self._mean_over_scales(fake_logits, 1.0)

    def discriminator(self, real_logits: Logits, fake_logits: Logits) -> torch.Tensor:
        """Loss for D: reals labelled 1, fakes 0, halved."""
        if len(_as_list(real_logits)) != len(_as_list(fake_logits)):
            raise ValueError(
                f"real and fake logits must have as many scales; got {len(_as_list(real_logits))} "
                f"and {len(_as_list(fake_logits))}"
            )
        return 0.5 * (self._mean_over_scales(real_logits, 1.0) + self._mean_over_scales(fake_logits, 0.0))

    def __repr__(self) -> str:
        return f"AdversarialLoss(kind={self.kind!r})"
