"""Brain masks from deepbet (MIT; a CNN whose TorchScript weights ship inside its wheel: nothing is downloaded).

deepbet picks its device itself: CUDA (or Apple MPS) when present, else the CPU. On the CPU it runs on this
process's preprocessing thread budget (`ants_threads`, one per worker), so subject workers do not
oversubscribe the cores.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from mrsynth.errors import DataError, MrsynthError
from mrsynth.preprocess.threads import ants_threads
from mrsynth.preprocess.volumes import Volume
from mrsynth.spec.preprocess import DeepbetSkullStrip

PACKAGE = "deepbet"
PINNED = "deepbet==1.0.2"


def deepbet_mask(subject: str, volume: Volume, spec: DeepbetSkullStrip, mask_path: Path | None) -> np.ndarray:
    """deepbet's mask of `volume`: brain probability above spec.threshold, largest component, voids filled,
    then spec.dilation voxel layers grown (or peeled)."""
    import nibabel as nib

    image = nib.Nifti1Image(np.asarray(volume.array, dtype=np.float32), volume.affine)
    with torch_threads(ants_threads()):
        try:
            _, mask, _ = brain_extractor().run(image, threshold=spec.threshold, n_dilate=spec.dilation)
        except (AssertionError, ValueError) as exc:  # deepbet's own checks when it finds no head or no brain
            raise DataError(f"deepbet found no brain ({exc or 'no foreground'})", subject=subject,
                            path=str(volume.path)) from exc
    return np.asarray(mask.dataobj) > 0


@lru_cache(maxsize=1)
def brain_extractor():
    """deepbet's two networks (bounding box, mask), loaded once per process from the installed wheel."""
    deepbet_version()  # a missing package is reported with the command that installs it
    from deepbet import BrainExtraction

    with warnings.catch_warnings():  # deepbet ships TorchScript files; torch's advice to move on is deepbet's to take
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.load` is deprecated", category=DeprecationWarning)
        return BrainExtraction(no_gpu=False)


def deepbet_version() -> str:
    """The installed deepbet version: new weights make new masks, so it joins the preprocessing cache key."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        raise MrsynthError(f"skull_strip kind 'deepbet' needs the deepbet package: pip install {PINNED}") from None


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run torch on `count` CPU threads, then give the caller back its own count (training may follow)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
