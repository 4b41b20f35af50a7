"""Normalisation layers by name, shared by the generators and discriminators."""

from __future__ import annotations

from torch import nn

from mrsynth.nn.dims import check_dims

NORM_KINDS = ("batch", "instance", "none")


def check_norm(norm: str) -> str:
    """Return `norm` if it names a known normalisation, else raise a ValueError naming the choices."""
    if norm not in NORM_KINDS:
        raise ValueError(f"norm must be one of {', '.join(NORM_KINDS)}; got {norm!r}")
    return norm


def norm_layer(norm: str, channels: int, dims: int = 2) -> nn.Module:
    """A 2D (or 3D with `dims=3`) normalisation over `channels` feature maps; `none` gives an identity."""
    check_norm(norm)
    check_dims(dims)
    if norm == "batch":
        return nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm3d(channels)
    if norm == "instance":
        instance = nn.InstanceNorm2d if dims == 2 else nn.InstanceNorm3d
        # affine so the layer has its own shift (convs before a norm carry no bias); no running stats as in pix2pix
        return instance(channels, affine=True, track_running_stats=False)
    return nn.Identity()
