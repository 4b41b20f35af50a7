"""ANTs import and thread count: one thread unless the caller chose otherwise, so results are reproducible.

ITK reads `ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS` once, at the first ANTs filter a process runs (setting
it after `import ants` still works; after the first filter it is ignored). Measured with antspyx 0.6.3:
with 2 threads, repeated rigid registrations of the same pair differ (by ~0.1 mm, ~1 degree); with 1
thread they are bit-identical, within and across processes.
"""

from __future__ import annotations

import os

ITK_THREADS_VARIABLE = "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"


def limit_ants_threads(count: int) -> None:
    """Let ANTs use `count` threads; call before this process runs its first ANTs filter."""
    if count < 1:
        raise ValueError(f"thread count must be at least 1, got {count}")
    os.environ[ITK_THREADS_VARIABLE] = str(count)


def load_ants():
    """The `ants` module, with ITK single-threaded unless the environment already sets a thread count."""
    os.environ.setdefault(ITK_THREADS_VARIABLE, "1")
    import ants

    return ants


def ants_threads() -> int:
    """The ITK thread count this process asks for (what `load_ants` set or the caller chose)."""
    return int(os.environ.get(ITK_THREADS_VARIABLE, "1"))
