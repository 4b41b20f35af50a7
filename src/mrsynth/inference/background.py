"""The one rule outside the brain: every prediction (a run's, `mrsynth predict`'s, a trivial baseline's) holds the
normalised target's background value (-1) there, so whole-image metrics compare like with like.

The brain is the source's brain mask: the only mask a prediction of a new input knows."""

from __future__ import annotations

import numpy as np

from mrsynth.data.slices import MASKS
from mrsynth.preprocess.normalise import BACKGROUND

SOURCE_MASK = MASKS.index("source_mask")  # the channel of a stored (n, 3, h, w) mask stack


def in_brain(image: np.ndarray, brain: np.ndarray) -> np.ndarray:
    """A float32 copy of normalised `image` with the background value outside `brain` (same shape)."""
    return np.where(np.asarray(brain, dtype=bool), image, np.float32(BACKGROUND)).astype(np.float32)
