"""Write the demo dataset: a BIDS-like tree of 3T/7T T1w/T2w/PDw heads, masks, labels and ground_truth.json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np

from mrsynth.demo import defects
from mrsynth.demo.anatomy import LABEL_NAMES
from mrsynth.demo.contrast import SEQUENCES, contrast_record
from mrsynth.demo.grid import DEFAULT_SHAPE, FIELD_OF_VIEW_MM, Grid, grid_for_shape, supersampling_factor
from mrsynth.demo.render import RenderedSubject, SubjectPlan, render_subject
from mrsynth.errors import DataError

GENERATOR_VERSION = "2"  # 2: the 3T T1w is a spin echo, 3T noise 3% of WM (was 5%)
DEFAULT_SUBJECTS = 8
MIN_SHAPE = 16
MAX_SHAPE = 256  # beyond this the anatomy alone needs gigabytes of memory
TRANSFORM_CONVENTION = (
    "T_3T_to_7T maps RAS world mm of ses-3T to ses-7T: the anatomy at world point x in every ses-3T image "
    "is at T_3T_to_7T @ x in every ses-7T image. To bring a 3T image onto the 7T grid, sample it at "
    "inv(T_3T_to_7T) @ y for each 7T world point y. Both sessions share one voxel grid and affine. "
    "T_3T_to_7T = [R | t] with R = Rz·Ry·Rx from rotation_deg (about the world origin, the grid centre) "
    "and t = translation_mm."
)

DERIVATIVES = {
    "labels": "derivatives/labels/<sub>/<ses>/anat/<sub>_<ses>_dseg.nii.gz: majority tissue label of each voxel "
    "(see labels) of the true anatomy, before injected slice defects",
    "masks": "derivatives/masks/<sub>/<ses>/anat/<sub>_<ses>_desc-brain_mask.nii.gz: the provided skull-strip "
    "mask; it follows injected slice defects as a tool run on the images would; defects.bad_masks lists wrong ones",
}

ANATOMY_NOTES = {
    "frame": "per_subject.<sub>.anatomy positions are 7T world mm (RAS); map them to 3T with inv(T_3T_to_7T)",
    "vessels_mm": "centre-line points of the thin vessels (bright at 7T only); only the parts inside GM/WM are drawn",
    "lesion": "ellipsoid centre (mm from cranium_centre_mm, before the smooth shape deformation) and radii, or null",
    "dropout_centres_7T_mm": "centres of the Gaussian 7T signal dropout over the inferior temporal lobes",
}


def plan_subjects(subjects: int, seed: int) -> list[SubjectPlan]:
    """Which subject carries which defect; sub-01 and sub-02 are always clean."""
    kinds = defects.defect_kinds(subjects, np.random.default_rng(np.random.SeedSequence([seed, 0])))
    return [SubjectPlan(index=i, seed=seed, defect_kind=kinds.get(i)) for i in range(1, subjects + 1)]


def _check_arguments(out: Path, subjects: int, seed: int, shape) -> tuple[int, int, int]:
    if not 1 <= subjects <= 99:
        raise DataError(f"--subjects must be between 1 and 99, got {subjects}", path=str(out))
    if seed < 0:
        raise DataError(f"--seed must be >= 0, got {seed}", path=str(out))
    if len(shape) != 3 or any(int(n) < MIN_SHAPE or int(n) > MAX_SHAPE for n in shape):
        raise DataError(
            f"--shape must be three sizes between {MIN_SHAPE} and {MAX_SHAPE}, got {tuple(shape)}",
            path=str(out),
        )
    if out.exists() and not out.is_dir():
        raise DataError("output path exists and is not a folder", path=str(out))
    if out.is_dir() and any(out.iterdir()) and not _is_demo_tree(out):
        raise DataError(
            "output folder is not empty and holds no demo dataset; choose an empty folder", path=str(out)
        )
    return tuple(int(n) for n in shape)


def _is_demo_tree(folder: Path) -> bool:
    try:
        truth = json.loads((folder / "ground_truth.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(truth, dict) and truth.get("generator", {}).get("name") == "mrsynth.demo"


def _clear_previous_demo(folder: Path) -> None:
    """Regenerating replaces an earlier demo, so no stale subject survives a smaller run."""
    for path in [*folder.glob("sub-*"), folder / "derivatives"]:
        if path.is_dir():
            shutil.rmtree(path)


def _save(volume: np.ndarray, grid: Grid, path: Path) -> None:
    image = nib.Nifti1Image(volume, grid.affine)
    image.header.set_xyzt_units("mm", "sec")
    image.header.set_qform(grid.affine, code=1)
    image.header.set_sform(grid.affine, code=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, path)


def _sidecar(field_strength: str, contrast: str) -> dict:
    """BIDS sidecar timing (seconds) for one image."""
    seq = SEQUENCES[field_strength][contrast]
    sidecar = {"MagneticFieldStrength": float(field_strength[:-1]), "RepetitionTime": seq["TR_ms"] / 1000}
    sidecar["EchoTime"] = seq["TE_ms"] / 1000
    if "TI_ms" in seq:
        sidecar["InversionTime"] = seq["TI_ms"] / 1000
    return sidecar


def _write_subject(root: Path, subject: str, rendered: RenderedSubject, grid: Grid) -> None:
    for session, volumes in rendered.sessions.items():
        stem = f"{subject}_{session}"
        anat = root / subject / session / "anat"
        for contrast, image in volumes.images.items():
            _save(image, grid, anat / f"{stem}_{contrast}.nii.gz")
            sidecar = _sidecar(session.removeprefix("ses-"), contrast)
            (anat / f"{stem}_{contrast}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
        masks = root / "derivatives" / "masks" / subject / session / "anat"
        _save(volumes.mask, grid, masks / f"{stem}_desc-brain_mask.nii.gz")
        labels = root / "derivatives" / "labels" / subject / session / "anat"
        _save(volumes.labels, grid, labels / f"{stem}_dseg.nii.gz")


def _describe(root: Path) -> None:
    description = {
        "Name": "mrsynth demo: synthetic paired 3T/7T heads",
        "BIDSVersion": "1.9.0",
        "DatasetType": "raw",
        "License": "CC0",
        "GeneratedBy": [{"Name": "mrsynth.demo", "Version": GENERATOR_VERSION}],
    }
    (root / "dataset_description.json").write_text(json.dumps(description, indent=2) + "\n")
    for name in ("masks", "labels"):
        derived = {**description, "Name": f"mrsynth demo {name}", "DatasetType": "derivative"}
        (root / "derivatives" / name / "dataset_description.json").write_text(
            json.dumps(derived, indent=2) + "\n"
        )
    (root / "derivatives" / "labels" / "dseg.tsv").write_text(
        "index\tname\n" + "".join(f"{k}\t{v}\n" for k, v in LABEL_NAMES.items())
    )


def _ground_truth(seed: int, grid: Grid, plans: list[SubjectPlan], records: dict, found: list[dict]) -> dict:
    return {
        "generator": {"name": "mrsynth.demo", "version": GENERATOR_VERSION},
        "seed": seed,
        "subjects": [p.subject for p in plans],
        "clean_subjects": [p.subject for p in plans if p.defect_kind is None],
        "shape": list(grid.shape),
        "voxel_size_mm": [grid.voxel_mm] * 3,
        "field_of_view_mm": list(FIELD_OF_VIEW_MM),
        "anatomy_supersampling": supersampling_factor(grid),
        "affine": grid.affine.tolist(),
        "labels": {str(k): v for k, v in LABEL_NAMES.items()},
        **contrast_record(),
        "transform_convention": TRANSFORM_CONVENTION,
        "derivatives": DERIVATIVES,
        "anatomy_notes": ANATOMY_NOTES,
        "per_subject": records,
        "defect_conventions": defects.CONVENTIONS,
        "defects": {group: [d for d in found if d["kind"] == kind] for kind, group in defects.GROUPS.items()},
    }


def generate_demo(
    out: Path,
    subjects: int = DEFAULT_SUBJECTS,
    seed: int = 0,
    shape: tuple[int, int, int] = DEFAULT_SHAPE,
    progress: bool = False,
) -> Path:
    """Write the demo tree under `out`; returns the path of ground_truth.json. Deterministic in (subjects, seed, shape)."""
    out = Path(out)
    grid = grid_for_shape(_check_arguments(out, subjects, seed, shape))
    plans = plan_subjects(subjects, seed)
    if _is_demo_tree(out):
        _clear_previous_demo(out)
    out.mkdir(parents=True, exist_ok=True)
    records, found = {}, []
    iterator = plans
    if progress:
        from tqdm import tqdm

        iterator = tqdm(plans, desc="demo subjects", unit="subject")
    for plan in iterator:
        rendered = render_subject(plan, grid)
        _write_subject(out, plan.subject, rendered, grid)
        records[plan.subject] = rendered.record
        if rendered.defect is not None:
            found.append({"subject": plan.subject, **rendered.defect})
    _describe(out)
    truth_path = out / "ground_truth.json"
    truth_path.write_text(json.dumps(_ground_truth(seed, grid, plans, records, found), indent=2) + "\n")
    return truth_path
