"""N4 bias field correction (ANTs) estimated inside the brain mask."""

from __future__ import annotations

import numpy as np

from mrsynth.preprocess.ants_images import to_ants
from mrsynth.preprocess.threads import load_ants
from mrsynth.spec.preprocess import N4Spec


def n4_correct(array: np.ndarray, affine: np.ndarray, mask: np.ndarray, spec: N4Spec) -> np.ndarray:
    """The volume divided by its N4 bias field; the field is fitted on positive voxels of the mask."""
    if not spec.enabled:
        return array
    ants = load_ants()
    # N4 fits the log intensity, so voxels at or below zero must not drive the fit.
    fit_mask = mask & (array > 0)
    if not fit_mask.any():
        return array
    corrected = ants.n4_bias_field_correction(
        to_ants(np.maximum(array, 0.0), affine),
        mask=to_ants(fit_mask.astype(np.float32), affine),
        shrink_factor=spec.shrink_factor,
        convergence={"iters": list(spec.iterations), "tol": spec.tolerance},
        spline_param=[spec.spline_mesh] * 3,
    )
    return corrected.numpy().astype(np.float32)
