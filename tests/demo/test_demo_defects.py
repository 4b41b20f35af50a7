"""The recorded session transform and injected defects are really in the files, with the recorded meaning."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from mrsynth.demo.anatomy import WM
from mrsynth.demo.defects import corrupt_mask
from mrsynth.demo.grid import grid_for_shape
from mrsynth.demo.render import SubjectPlan, render_subject


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    return float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))


def _resample_labels(labels: np.ndarray, affine: np.ndarray, world_map: np.ndarray) -> np.ndarray:
    """labels(world_map @ y) for every voxel centre y of the same grid (nearest neighbour)."""
    ijk = np.indices(labels.shape).reshape(3, -1)
    world = affine[:3, :3] @ ijk + affine[:3, 3:4]
    source = np.linalg.inv(affine) @ world_map
    index = source[:3, :3] @ world + source[:3, 3:4]
    return ndi.map_coordinates(labels, index, order=0, mode="nearest").reshape(labels.shape)


def test_recorded_transform_brings_3t_anatomy_onto_7t(demo):
    for subject in demo.truth["subjects"]:
        to_7t = np.asarray(demo.truth["per_subject"][subject]["misregistration"]["T_3T_to_7T"])
        affine = demo.nifti(subject, "7T", "T1w").affine
        labels_3t, wm_7t = demo.labels(subject, "3T"), demo.labels(subject, "7T") == WM
        naive = _dice(labels_3t == WM, wm_7t)
        aligned = _dice(_resample_labels(labels_3t, affine, np.linalg.inv(to_7t)) == WM, wm_7t)
        backwards = _dice(_resample_labels(labels_3t, affine, to_7t) == WM, wm_7t)
        assert aligned > naive + 0.03, subject  # sessions are visibly misregistered ...
        assert 1 - aligned < 0.8 * (1 - naive), subject
        assert backwards < naive, subject  # ... in the recorded direction


def _expected_image(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """A noiseless stand-in: every voxel gets its label's median intensity."""
    medians = np.array(
        [np.median(image[labels == k]) if (labels == k).any() else 0.0 for k in range(labels.max() + 1)]
    )
    return medians[labels]


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.mark.parametrize("contrast", ["T1w", "T2w", "PDw"])
def test_offset_slices_show_the_anatomy_shift_slices_away(demo, contrast):
    offset = demo.defect("slice_offsets")
    assert offset["session"] == "ses-7T" and 2 <= abs(offset["shift"]) <= 4
    assert 4 <= offset["stop"] - offset["start"] <= 8
    image, labels = demo.image(offset["subject"], "7T", contrast), demo.labels(offset["subject"], "7T")
    expected = _expected_image(image, labels)
    for z in range(offset["start"], offset["stop"]):
        shifted = _correlation(image[:, :, z], expected[:, :, z + offset["shift"]])
        assert shifted > _correlation(image[:, :, z], expected[:, :, z]), z
        assert shifted > 0.8, z
    untouched = offset["start"] - 1
    assert _correlation(image[:, :, untouched], expected[:, :, untouched]) > 0.8
    assert demo.mask(offset["subject"], "7T")[:, :, offset["start"] : offset["stop"]].any()  # brain slices


def test_misaligned_slices_are_translated_in_plane_by_dx_dy(demo):
    shifted = demo.defect("local_misalignments")
    image, labels = demo.image(shifted["subject"], "7T", "T2w"), demo.labels(shifted["subject"], "7T")
    expected = _expected_image(image, labels)
    moved = np.roll(expected, (shifted["dx"], shifted["dy"]), axis=(0, 1))
    for z in range(shifted["start"], shifted["stop"]):
        assert (
            _correlation(image[:, :, z], moved[:, :, z])
            > _correlation(image[:, :, z], expected[:, :, z]) + 0.1
        )
    assert demo.mask(shifted["subject"], "7T")[:, :, shifted["start"] : shifted["stop"]].any()


def test_motion_corrupted_volume_differs_from_its_clean_render_with_ghosts_outside_the_head(demo):
    motion = demo.defect("motion_corrupted")
    session = motion["session"].removeprefix("ses-")
    segments = motion["segments"]
    assert len(segments) >= 3 and segments[0]["start"] == 0 and segments[-1]["stop"] == demo.shape[1]
    assert (
        sum(any(s["translation_mm"]) for s in segments) == len(segments) - 1
    )  # only the centre segment is still
    index = int(motion["subject"].removeprefix("sub-"))
    clean = render_subject(SubjectPlan(index=index, seed=demo.seed), grid_for_shape(demo.shape))
    clean_images = clean.sessions[motion["session"]].images
    labels = demo.labels(motion["subject"], session)
    head, air = labels > 0, ~ndi.binary_dilation(labels > 0, iterations=2)
    corrupted = demo.image(motion["subject"], session, motion["contrast"])
    reference = clean_images[motion["contrast"]].astype(float)
    # same noise draw in both: any change in the air is ghosting, here at least a sixth of the noise floor
    assert np.abs(corrupted - reference)[air].mean() > 0.15 * reference[air].mean()
    assert np.abs(corrupted - reference)[head].mean() > 0.05 * reference[head].mean()  # blurred head
    for contrast, clean_image in clean_images.items():
        if contrast != motion["contrast"]:  # the same noise and anatomy: only the recorded volume moved
            np.testing.assert_array_equal(demo.image(motion["subject"], session, contrast), clean_image)


def _true_brain(demo, subject: str, session: str) -> np.ndarray:
    labels = demo.labels(subject, session)
    return ndi.binary_fill_holes(np.isin(labels, (2, 3, 4)))


def test_bad_mask_is_badly_wrong_and_other_masks_are_right(demo):
    bad = demo.defect("bad_masks")
    for subject in demo.truth["subjects"]:
        for session in ("3T", "7T"):
            if (
                subject
                in {
                    d["subject"]
                    for d in demo.truth["defects"]["slice_offsets"]
                    + demo.truth["defects"]["local_misalignments"]
                }
                and session == "7T"
            ):
                continue  # those masks follow their displaced slices
            overlap = _dice(demo.mask(subject, session), _true_brain(demo, subject, session))
            if (subject, f"ses-{session}") == (bad["subject"], bad["session"]):
                assert overlap < 0.8
            else:
                assert overlap > 0.85, (subject, session)


@pytest.mark.parametrize(
    ("kind", "side"), [("eroded_side", "left"), ("eroded_side", "right"), ("includes_scalp", None)]
)
def test_corrupted_masks_lose_one_side_or_swallow_the_scalp(kind, side):
    x, y, z = np.indices((40, 40, 30)) - np.array([20, 20, 15])[:, None, None, None]
    brain = x**2 + y**2 + z**2 < 12**2
    head = x**2 + y**2 + z**2 < 17**2
    mask = corrupt_mask(brain, head, {"mask_kind": kind, "side": side}, voxel_mm=3.5).astype(bool)
    assert _dice(mask, brain) < 0.8
    if kind == "includes_scalp":
        assert mask.sum() > 1.5 * brain.sum() and not (mask & ~head).any()
    else:
        kept_left, kept_right = mask[x < -5].sum(), mask[x > 5].sum()
        assert (kept_left < 0.2 * kept_right) if side == "left" else (kept_right < 0.2 * kept_left)
