"""Losses on image gradients: gradient difference (Nie et al.) and normalized gradient fields (NEC)."""

from __future__ import annotations

import torch

from mrsynth.nn.losses import _masked_mean


def _check_pair(first: torch.Tensor, second: torch.Tensor, names: str) -> None:
    """Raise a ValueError unless both are (N, C, H, W) or (N, C, D, H, W) tensors of one shape."""
    if first.ndim not in (4, 5):
        raise ValueError(f"{names} must be (N, C, H, W) or (N, C, D, H, W); got shape {tuple(first.shape)}")
    if first.shape != second.shape:
        raise ValueError(f"{names} must have one shape; got {tuple(first.shape)} and {tuple(second.shape)}")


def _full_mask(mask: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
    """The mask as float weights expanded to `like`'s shape, so it can be cropped like the image."""
    return None if mask is None else torch.broadcast_to(mask.to(torch.float32), like.shape)


def _forward_difference(x: torch.Tensor, axis: int) -> torch.Tensor:
    """x[i + 1] - x[i] along `axis`; one element shorter there."""
    length = x.shape[axis] - 1
    return x.narrow(axis, 1, length) - x.narrow(axis, 0, length)


def gradient_difference_loss(
    pred: torch.Tensor, target: torch.Tensor, p: float = 2.0, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Image gradient difference loss: sum over spatial axes d of mean | |∇_d target| - |∇_d pred| |^p.

    ∇_d is the forward difference along axis d; works on (N, C, H, W) and (N, C, D, H, W). With a
    `mask` (broadcastable to `pred`) a difference counts only where both of its voxels are in the
    mask (product of the weights), averaged as in `masked_l1`. Zero iff the gradient magnitudes match.
    """
    _check_pair(pred, target, "pred and target")
    if p <= 0:
        raise ValueError(f"p must be > 0; got {p}")
    pred, target = pred.float(), target.float()
    weights = _full_mask(mask, pred)
    total = pred.new_zeros(())
    for axis in range(2, pred.ndim):
        error = (_forward_difference(pred, axis).abs() - _forward_difference(target, axis).abs()).abs().pow(p)
        pair_weights = None
        if weights is not None:
            length = pred.shape[axis] - 1
            pair_weights = weights.narrow(axis, 0, length) * weights.narrow(axis, 1, length)
        total = total + _masked_mean(error, pair_weights)
    return total


def _interior(x: torch.Tensor) -> torch.Tensor:
    """`x` without its one-voxel border on every spatial axis."""
    for axis in range(2, x.ndim):
        x = x.narrow(axis, 1, x.shape[axis] - 2)
    return x


def _central_gradient(image: torch.Tensor) -> torch.Tensor:
    """Central differences (x[i+1] - x[i-1]) / 2 at interior voxels, stacked on a new axis 2."""
    components = []
    for axis in range(2, image.ndim):
        length = image.shape[axis] - 2
        difference = (image.narrow(axis, 2, length) - image.narrow(axis, 0, length)) / 2
        # crop the other axes too, so every component sits on the same interior voxels
        for other in range(2, image.ndim):
            if other != axis:
                difference = difference.narrow(other, 1, image.shape[other] - 2)
        components.append(difference)
    return torch.stack(components, dim=2)


def normalized_gradient_field(image: torch.Tensor, eps: float = 0.15) -> torch.Tensor:
    """n_ε(I) = ∇I / (‖∇I‖ + ε) at interior voxels: (N, C, dims, *interior).

    The literal form of the NEC paper (not ∇I / sqrt(‖∇I‖² + ε²)): ε is in intensity units per voxel
    and damps gradients weaker than about ε, i.e. noise and flat background, towards zero length.
    """
    if eps <= 0:
        raise ValueError(f"eps must be > 0 (flat regions would divide by zero); got {eps}")
    gradient = _central_gradient(image.float())
    # vector_norm's backward is 0 at a zero gradient, so flat background gives no NaN
    return gradient / (torch.linalg.vector_norm(gradient, dim=2, keepdim=True) + eps)


def ngf_loss(
    source: torch.Tensor, output: torch.Tensor, eps: float = 0.15, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """NEC's normalized gradient field loss: mean over voxels of 1 - ½ ⟨n_ε(source), n_ε(output)⟩².

    Squaring the inner product makes the loss blind to contrast inversion, and normalising the
    gradients makes it nearly blind to scaling and offset: it penalises edges that move or vanish,
    not a change of contrast. Values lie in [0.5, 1]; only differences matter. Gradients are central
    differences on the interior voxels (the one-voxel border is left out); `mask` (broadcastable to
    `source`) restricts the mean. Accepts (N, C, H, W) and (N, C, D, H, W), each channel on its own.
    """
    _check_pair(source, output, "source and output")
    if min(source.shape[2:]) < 3:
        raise ValueError(f"ngf_loss needs every spatial side >= 3; got {tuple(source.shape[2:])}")
    alignment = (normalized_gradient_field(source, eps) * normalized_gradient_field(output, eps)).sum(dim=2)
    weights = _full_mask(mask, source)
    return _masked_mean(1 - 0.5 * alignment.square(), None if weights is None else _interior(weights))
