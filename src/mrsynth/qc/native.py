"""The compiled QC loops a process calls: the ahead-of-time build when it matches `kernels.py`, else numba's JIT.

`python -m mrsynth.qc.aot` (a step of `make setup`) compiles the loops of `mrsynth.qc.kernels` into the
extension module `mrsynth.qc._kernels_aot`, which runs without numba: a process then skips numba's
import and cache load (about 0.4 s of CPU, most of a warm `mrsynth qc-pair --no-figures`). It is
compiled for this machine's CPU and carries a stamp of that CPU and of the source it was made from;
after an edit of kernels.py, on another CPU (a copied checkout) or where it was never built (no C
compiler), the numba JIT loops (compiled once, cached beside kernels.py) serve instead.
The ahead-of-time loops hold the GIL, so the blocks of a volume run one after another; the JIT loops
release it and run on threads.
"""

from __future__ import annotations

import hashlib
import importlib
import platform
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

KERNELS_SOURCE = Path(__file__).with_name("kernels.py")
AOT_MODULE = "_kernels_aot"


def cpu_identity() -> bytes:
    """The CPU's model and feature flags (Linux: the first processor of /proc/cpuinfo), else what platform says."""
    try:
        with open("/proc/cpuinfo", "rb") as info:
            first = info.read(1 << 16).split(b"\n\n", 1)[0]
        return b"\n".join(line for line in first.splitlines() if line.startswith((b"model name", b"flags")))
    except OSError:
        return f"{platform.machine()} {platform.processor()}".encode()


def source_stamp() -> int:
    """63 bits of the SHA-256 of kernels.py and this CPU (an int64 the extension returns from `stamp()`)."""
    return int.from_bytes(hashlib.sha256(KERNELS_SOURCE.read_bytes() + cpu_identity()).digest()[:8], "big") >> 1


def _c_arrays(function: Callable, dtypes: tuple[type, ...]) -> Callable:
    """`function` refusing arrays of other dtypes or memory layouts, as numba's typed dispatch does:
    an exported function reads whatever memory it is handed."""

    def checked(*args):
        for position, dtype in enumerate(dtypes):
            array = args[position]
            if dtype is not None and not (isinstance(array, np.ndarray) and array.dtype == dtype and array.flags.c_contiguous):
                raise TypeError(f"{function.__name__}: argument {position} must be a C-contiguous {np.dtype(dtype)} array")
        return function(*args)

    return checked


@dataclass(frozen=True)
class Loops:
    joint_counts: Callable
    intersection_stats: Callable
    survey_images: Callable
    """mask_survey of two float32 volumes (their non-zero voxels)."""
    survey_masks: Callable
    """mask_survey of two bool masks."""
    threads: bool
    """True: the loops release the GIL, so blocks may run on threads."""
    origin: str

    def mask_survey(self, a: np.ndarray, b: np.ndarray, axis: int, both: np.ndarray, plane: np.ndarray) -> None:
        (self.survey_masks if a.dtype == np.bool_ else self.survey_images)(a, b, axis, both, plane)


def _ahead_of_time() -> Loops | None:
    try:
        built = importlib.import_module(f"mrsynth.qc.{AOT_MODULE}")
    except ImportError:
        return None
    if built.stamp() != source_stamp():
        return None
    images, masks, counts, stats = np.float32, np.bool_, np.int64, np.float64
    block = (images, images, masks, masks)
    return Loops(_c_arrays(built.joint_counts, (*block, *[None] * 8, counts)),
                 _c_arrays(built.intersection_stats, (*block, *[None] * 8, stats)),
                 _c_arrays(built.survey_images, (images, images, None, counts, masks)),
                 _c_arrays(built.survey_masks, (masks, masks, None, counts, masks)),
                 threads=False, origin="ahead-of-time build")


@cache
def loops() -> Loops:
    """The loops of this process, chosen once."""
    built = _ahead_of_time()
    if built is not None:
        return built
    from mrsynth.qc import kernels  # numba compiles, or loads its cache, here

    return Loops(kernels.joint_counts, kernels.intersection_stats, kernels.mask_survey, kernels.mask_survey,
                 threads=True, origin="numba JIT")
