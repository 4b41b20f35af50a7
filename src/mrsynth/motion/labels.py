"""QC labels of the demo dataset, read from its ground_truth.json: one row per image (subject, session, suffix, label).

Labels: `motion` for the k-space motion-corrupted image, `slice_defect` for every image of a session with
injected slice offsets or in-plane misalignment, `clean` for the rest (a wrong brain mask leaves the image clean).
The same file serves as a motion spec's `data.exclude` (with `exclude_labels: ["motion"]`) and `transfer.labels`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from mrsynth.errors import DataError
from mrsynth.fsutil import atomic_write_text

DEFAULT_PATH = Path("derivatives") / "qc" / "motion_labels.csv"
IMAGE = re.compile(r"^sub-(?P<subject>[^_]+)_ses-(?P<session>[^_]+)_(?P<suffix>[A-Za-z0-9]+)\.nii(\.gz)?$")


def _truth(root: Path) -> dict:
    try:
        return json.loads((root / "ground_truth.json").read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"not a demo dataset (no readable ground_truth.json): {exc}", path=str(root)) from None


def demo_labels(root: Path) -> list[dict[str, str]]:
    """Rows (subject, session, suffix, label) for every image under `root`, sorted."""
    defects = _truth(root).get("defects", {})
    moved = {(d["subject"], d["session"], d["contrast"]) for d in defects.get("motion_corrupted", [])}
    sliced = {(d["subject"], d["session"]) for group in ("slice_offsets", "local_misalignments") for d in defects.get(group, [])}
    rows = []
    for path in sorted(root.glob("sub-*/ses-*/anat/*.nii*")):
        match = IMAGE.match(path.name)
        if not match:
            continue
        subject, session, suffix = match["subject"], match["session"], match["suffix"]
        key = (f"sub-{subject}", f"ses-{session}")
        label = "motion" if (*key, suffix) in moved else "slice_defect" if key in sliced else "clean"
        rows.append({"subject": subject, "session": session, "suffix": suffix, "label": label})
    if not rows:
        raise DataError("no sub-*/ses-*/anat images found", path=str(root))
    return rows


def write_demo_labels(root: Path, out: Path | None = None) -> Path:
    """Write the demo's QC labels CSV (default: ROOT/derivatives/qc/motion_labels.csv); returns its path."""
    root = Path(root)
    out = Path(out) if out else root / DEFAULT_PATH
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["subject", "session", "suffix", "label"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(demo_labels(root))
    atomic_write_text(out, buffer.getvalue())
    return out
