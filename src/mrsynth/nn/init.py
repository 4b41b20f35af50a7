"""Weight initialisation as in pix2pix, parameter counting, and a temporary eval mode."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

INIT_KINDS = ("normal", "xavier", "kaiming", "orthogonal")
_CONV_TYPES = (nn.Conv2d, nn.ConvTranspose2d, nn.Conv3d, nn.ConvTranspose3d, nn.Linear)
_NORM_TYPES = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm)


def _init_conv_weight(weight, kind: str, gain: float) -> None:
    if kind == "normal":
        nn.init.normal_(weight, 0.0, gain)
    elif kind == "xavier":
        nn.init.xavier_normal_(weight, gain=gain)
    elif kind == "kaiming":
        nn.init.kaiming_normal_(weight, a=0, mode="fan_in")
    else:
        nn.init.orthogonal_(weight, gain=gain)


def init_weights(module: nn.Module, kind: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise every conv/linear and affine norm layer of `module` in place; returns `module`.

    Conv and linear weights: N(0, gain) for `normal`, Xavier-normal or orthogonal with `gain`,
    Kaiming-normal (fan-in; gain unused); biases 0. Affine norm layers: scale N(1, gain), shift 0.
    """
    if kind not in INIT_KINDS:
        raise ValueError(f"init kind must be one of {', '.join(INIT_KINDS)}; got {kind!r}")
    for layer in module.modules():
        if isinstance(layer, _CONV_TYPES):
            _init_conv_weight(layer.weight, kind, gain)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, _NORM_TYPES) and layer.affine:
            nn.init.normal_(layer.weight, 1.0, gain)
            nn.init.zeros_(layer.bias)
    return module


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters in `module` (only those with requires_grad if `trainable_only`)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """`module` in eval mode for the block, then back in the mode it was in."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)
