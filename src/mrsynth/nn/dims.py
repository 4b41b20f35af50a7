"""Layer types by spatial dimensionality, so one network definition serves 2D slices and 3D patches."""

from __future__ import annotations

from torch import nn

SPATIAL_DIMS = (2, 3)
_CONV = {2: nn.Conv2d, 3: nn.Conv3d}
_CONV_TRANSPOSE = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
_MAX_POOL = {2: nn.MaxPool2d, 3: nn.MaxPool3d}


def check_dims(dims: int) -> int:
    """Return `dims` if it is 2 or 3, else raise a ValueError naming the value."""
    if dims not in SPATIAL_DIMS:
        raise ValueError(f"dims must be 2 or 3; got {dims!r}")
    return dims


def conv_type(dims: int) -> type[nn.Module]:
    """nn.Conv2d or nn.Conv3d."""
    return _CONV[check_dims(dims)]


def conv_transpose_type(dims: int) -> type[nn.Module]:
    """nn.ConvTranspose2d or nn.ConvTranspose3d."""
    return _CONV_TRANSPOSE[check_dims(dims)]


def max_pool_type(dims: int) -> type[nn.Module]:
    """nn.MaxPool2d or nn.MaxPool3d."""
    return _MAX_POOL[check_dims(dims)]
