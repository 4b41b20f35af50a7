"""Normalisation layers by name, shared by the generators and discriminators."""

from __future__ import annotations

from torch import nn

NORM_KINDS = ("batch", "instance", "none")


def check_norm(norm: str) -> str:
    """Return `norm` if it names a known normalisation, else raise a ValueError naming the choices."""
    if norm not in NORM_KINDS:
        raise ValueError(f"norm must be one of {', '.join(NORM_KINDS)}; got {norm!r}")
    return norm


def norm_layer(norm: str, channels: int) -> nn.Module:
    """A 2D normalisation over `channels` feature maps; `none` gives an identity."""
    check_norm(norm)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "instance":
        # affine so the layer has its own shift (convs before a norm carry no bias); no running stats as in pix2pix
        return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)
    return nn.Identity()
