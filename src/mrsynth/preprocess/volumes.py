"""Loading NIfTI volumes and masks with nibabel, reoriented to RAS, with every input check in one place."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mrsynth.errors import DataError

# Affines of an image and its mask may differ by float rounding in the header, not by more.
GRID_ATOL_MM = 1e-3
# No scanner writes intensities near float32's limit; such values overflow every range and histogram downstream.
MAX_MAGNITUDE = 1e12
MIN_VOXEL_MM3 = 1e-6


@dataclass(frozen=True)
class Volume:
    """A 3D volume in closest-canonical (RAS+) orientation."""

    array: np.ndarray
    affine: np.ndarray
    path: Path


def load_volume(subject: str, path: Path | str) -> Volume:
    """Read a 3D NIfTI, reorient it to RAS+ and check it is finite and not constant."""
    image = _read_image(subject, Path(path))
    _require_3d(subject, image)
    array, affine = _read_canonical(subject, Path(path), image)
    if not np.isfinite(array).all():
        count = int((~np.isfinite(array)).sum())
        raise DataError(f"{count} voxels are NaN or Inf", subject=subject, path=str(path))
    peak = float(np.abs(array).max())
    if peak > MAX_MAGNITUDE:
        raise DataError(f"voxel values reach {peak:.3g}, beyond any scanner's range (limit {MAX_MAGNITUDE:g}); "
                        "check the header's scl_slope/scl_inter", subject=subject, path=str(path))
    if float(array.max()) == float(array.min()):
        raise DataError(f"image is constant (every voxel is {float(array.max()):g})", subject=subject, path=str(path))
    return Volume(array=array, affine=affine, path=Path(path))


def check_header(subject: str, path: Path | str) -> None:
    """The checks that need no voxels (readable, 3D, real-valued, usable affine): cheap enough to run on every
    file before minutes of preprocessing start."""
    image = _read_image(subject, Path(path))
    _require_3d(subject, image)
    _require_usable_affine(subject, Path(path), np.asarray(image.affine, dtype=np.float64))


def load_mask(subject: str, path: Path | str, image_path: Path | str) -> np.ndarray:
    """Read a brain mask that must share the grid of `image_path`; return it reoriented to RAS+ as bool."""
    mask_image = _read_image(subject, Path(path))
    image = _read_image(subject, Path(image_path))
    _require_3d(subject, mask_image)
    if not same_grid(mask_image.shape[:3], mask_image.affine, image.shape[:3], image.affine):
        raise DataError(
            f"mask grid {tuple(mask_image.shape)} does not match its image {Path(image_path).name} "
            f"{tuple(image.shape)} (shape and affine must be equal)",
            subject=subject,
            path=str(path),
        )
    mask, _ = _read_canonical(subject, Path(path), mask_image)
    if not np.isfinite(mask).all():
        raise DataError("mask has NaN or Inf voxels", subject=subject, path=str(path))
    return mask > 0


def same_grid(shape_a, affine_a, shape_b, affine_b) -> bool:
    """Whether two images have the same voxel grid in world space."""
    return tuple(shape_a) == tuple(shape_b) and np.allclose(affine_a, affine_b, atol=GRID_ATOL_MM)


def _read_image(subject: str, path: Path):
    import nibabel as nib

    if not path.is_file():
        raise DataError("file not found", subject=subject, path=str(path))
    try:
        return nib.load(str(path))
    except (nib.filebasedimages.ImageFileError, OSError, EOFError, ValueError, OverflowError, zlib.error) as exc:
        raise DataError(f"cannot read NIfTI ({_reason(exc)})", subject=subject, path=str(path)) from exc


def _require_3d(subject: str, image) -> None:
    shape = tuple(image.shape)
    # Trailing singleton axes (x, y, z, 1) are a common 3D encoding; anything else is not one volume.
    if len(shape) < 3 or any(n != 1 for n in shape[3:]):
        raise DataError(f"expected a 3D volume, got shape {shape}", subject=subject, path=image.get_filename())
    if any(n < 1 for n in shape):
        raise DataError(f"the header's shape {shape} has an empty axis", subject=subject, path=image.get_filename())
    kind = image.get_data_dtype().kind
    if kind not in "biuf":  # complex (phase data) or structured (RGB) voxels are not a magnitude image
        what = "complex" if kind == "c" else f"non-numeric ({image.get_data_dtype()})"
        raise DataError(f"voxels are {what}; expected a real-valued magnitude image", subject=subject,
                        path=image.get_filename())


def _read_canonical(subject: str, path: Path, image) -> tuple[np.ndarray, np.ndarray]:
    """Voxel data as float32 and the affine, both in closest-canonical orientation."""
    import nibabel as nib

    _require_usable_affine(subject, path, np.asarray(image.affine, dtype=np.float64))
    try:
        canonical = nib.as_closest_canonical(image)  # reads the voxels when it has to reorient
        data = np.asarray(canonical.dataobj, dtype=np.float32)
    except (OSError, EOFError, ValueError, OverflowError, MemoryError, zlib.error) as exc:
        raise DataError(f"cannot read voxel data, file truncated or corrupt ({_reason(exc)})", subject=subject,
                        path=str(path)) from exc
    return data.reshape(data.shape[:3]), canonical.affine.copy()


def _reason(exc: BaseException) -> str:
    """A library's error text on one line, bounded: it becomes part of a one-line message naming the file."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 160 else text[:157] + "..."


def _require_usable_affine(subject: str, path: Path, affine: np.ndarray) -> None:
    """Orientation, registration and the output header all need an invertible, finite voxel-to-world map."""
    if not np.isfinite(affine).all():
        raise DataError("the header's affine has NaN or Inf entries", subject=subject, path=str(path))
    voxel_mm3 = abs(float(np.linalg.det(affine[:3, :3])))
    if voxel_mm3 < MIN_VOXEL_MM3:
        raise DataError(f"the header's affine is singular (voxel volume {voxel_mm3:.3g} mm^3); fix the qform/sform",
                        subject=subject, path=str(path))
