"""Per-subject preprocessing (the project's only user of ANTs, imported lazily inside functions).

Threads: ITK reads `ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS` once, when the process first runs an ANTs
filter; a worker pool that runs one subject per core should call `limit_ants_threads(1)` in each
worker's initializer (or set the variable before starting the workers).
"""

from __future__ import annotations

from mrsynth.preprocess.normalise import denormalise, normalise, robust_scale
from mrsynth.preprocess.pipeline import PreparedPair, prepare_pair, prepare_single
from mrsynth.preprocess.threads import limit_ants_threads

__all__ = [
    "PreparedPair",
    "denormalise",
    "limit_ants_threads",
    "normalise",
    "prepare_pair",
    "prepare_single",
    "robust_scale",
]
