"""Realism of the demo images: tissue contrast, 7T SNR and detail, B1 shading, temporal dropout, vessels, anatomy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from mrsynth.demo import DEFAULT_SHAPE
from mrsynth.demo.anatomy import CSF, GM, LESION, SCALP, SKULL, WM
from mrsynth.demo.contrast import tissue_signal
from mrsynth.demo.grid import grid_for_shape
from mrsynth.demo.render import SubjectPlan, render_subject

CLEAN = "sub-01"


@pytest.mark.parametrize("field", ["3T", "7T"])
def test_signal_equations_order_the_tissues_as_in_real_scans(field):
    s = {(t, c): abs(tissue_signal(t, field, c)) for t in ("csf", "gm", "wm") for c in ("T1w", "T2w", "PDw")}
    assert s["wm", "T1w"] > s["gm", "T1w"] > s["csf", "T1w"]
    assert s["csf", "T2w"] > s["gm", "T2w"] > s["wm", "T2w"]
    assert s["gm", "PDw"] > s["wm", "PDw"]


def test_the_7t_t1w_has_the_stronger_grey_white_contrast_and_darker_csf():
    """The 3T session's spin-echo T1w against the 7T inversion-prepared T1w: a contrast 3T -> 7T must learn."""
    relative = {f: {t: abs(tissue_signal(t, f, "T1w")) / abs(tissue_signal("wm", f, "T1w")) for t in ("gm", "csf")}
                for f in ("3T", "7T")}
    assert relative["7T"]["gm"] < relative["3T"]["gm"] - 0.2
    assert relative["7T"]["csf"] < relative["3T"]["csf"] - 0.2


@pytest.fixture(scope="module")
def clean_subject():
    """A clean subject rendered in memory at the default size, with the partial-volume fractions."""
    return render_subject(SubjectPlan(index=1, seed=0), grid_for_shape(DEFAULT_SHAPE))


@pytest.mark.parametrize("session", ["ses-3T", "ses-7T"])
def test_images_order_pure_tissue_voxels_by_contrast(clean_subject, session):
    volumes = clean_subject.sessions[session]
    pure = {label: volumes.fractions[label] >= 0.8 for label in (CSF, GM, WM)}
    assert all(region.sum() >= 10 for region in pure.values())
    mean = {(label, c): volumes.images[c][pure[label]].mean() for label in pure for c in volumes.images}
    assert mean[WM, "T1w"] > mean[GM, "T1w"] > mean[CSF, "T1w"]
    assert mean[CSF, "T2w"] > mean[GM, "T2w"] > mean[WM, "T2w"]
    assert mean[GM, "PDw"] > mean[WM, "PDw"]


def test_files_order_labelled_tissue_means_on_the_clean_subject(demo):
    labels = demo.labels(CLEAN, "7T")
    mean = {
        (k, c): demo.image(CLEAN, "7T", c)[labels == k].mean() for k in (CSF, GM, WM) for c in ("T1w", "T2w")
    }
    assert mean[WM, "T1w"] > mean[GM, "T1w"] > mean[CSF, "T1w"]
    assert mean[CSF, "T2w"] > mean[GM, "T2w"] > mean[WM, "T2w"]


def _noise_sigma(image: np.ndarray, labels: np.ndarray) -> float:
    """Rician noise sigma from air well away from the head (mean of a Rayleigh = sigma·sqrt(pi/2))."""
    air = ~ndi.binary_dilation(labels > 0, iterations=3)
    return float(image[air].mean() / np.sqrt(np.pi / 2))


@pytest.mark.parametrize("contrast", ["T1w", "T2w", "PDw"])
def test_7t_has_at_least_half_again_the_snr_of_3t_in_white_matter(demo, contrast):
    snr = {}
    for session in ("3T", "7T"):
        image, labels = demo.image(CLEAN, session, contrast), demo.labels(CLEAN, session)
        wm = ndi.binary_erosion(labels == WM)
        snr[session] = image[wm].mean() / _noise_sigma(image, labels)
    assert snr["7T"] > 1.5 * snr["3T"]


@pytest.mark.parametrize("contrast", ["T2w", "PDw"])
def test_3t_is_blurred_7t_keeps_detail_beyond_the_3t_resolution(demo, contrast):
    """Power at the highest spatial frequencies over the white-noise floor: 3T holds noise only there."""
    ratio = {}
    for session in ("3T", "7T"):
        image, labels = demo.image(CLEAN, session, contrast), demo.labels(CLEAN, session)
        power = np.abs(np.fft.fft(image, axis=0)) ** 2
        high = np.abs(np.fft.fftfreq(image.shape[0])) * 2 > 0.8
        ratio[session] = power[high].mean() / (image.shape[0] * _noise_sigma(image, labels) ** 2)
    assert ratio["3T"] < 2.0
    assert ratio["7T"] > 10 * ratio["3T"]


def _distance_map(demo, session: str, point) -> np.ndarray:
    affine = demo.nifti(CLEAN, session, "PDw").affine
    ijk = np.indices(demo.shape).reshape(3, -1)
    world = affine[:3, :3] @ ijk + affine[:3, 3:4]
    return np.linalg.norm(world - np.asarray(point, float)[:, None], axis=0).reshape(demo.shape)


def test_7t_is_brighter_at_the_centre_of_the_brain_and_3t_is_not(demo):
    centre = demo.truth["per_subject"][CLEAN]["anatomy"]["cranium_centre_mm"]
    ratio = {}
    for session in ("3T", "7T"):
        image, wm = demo.image(CLEAN, session, "PDw"), demo.labels(CLEAN, session) == WM
        r = _distance_map(demo, session, centre)
        ratio[session] = image[wm & (r < 30)].mean() / image[wm & (r > 50)].mean()
    assert ratio["7T"] > 1.1
    assert abs(ratio["3T"] - 1.0) < 0.08


def test_7t_loses_signal_in_the_inferior_temporal_lobes(demo):
    for centre in demo.truth["per_subject"][CLEAN]["dropout_centres_7T_mm"]:
        relative = {}
        for session in ("3T", "7T"):
            image, labels = demo.image(CLEAN, session, "PDw"), demo.labels(CLEAN, session)
            brain = np.isin(labels, (GM, WM))
            near = brain & (_distance_map(demo, session, centre) < 12)
            assert near.sum() >= 3
            relative[session] = image[near].mean() / np.median(image[brain])
        assert relative["7T"] < 0.75
        assert relative["3T"] > 0.8


def test_7t_shows_bright_thin_vessels_that_3t_does_not(demo):
    record = demo.truth["per_subject"][CLEAN]
    to_3t = np.linalg.inv(np.asarray(record["misregistration"]["T_3T_to_7T"]))
    bright = {}
    for session in ("3T", "7T"):
        nifti = demo.nifti(CLEAN, session, "T1w")
        image, labels = nifti.get_fdata(), demo.labels(CLEAN, session)
        threshold = np.percentile(image[labels == WM], 99)
        inverse = np.linalg.inv(nifti.affine)
        hits = 0
        for polyline in record["anatomy"]["vessels_mm"]:
            points = np.asarray(polyline, float).T
            if session == "3T":
                points = to_3t[:3, :3] @ points + to_3t[:3, 3:4]
            index = np.rint(inverse[:3, :3] @ points + inverse[:3, 3:4]).astype(int)
            hits += image[tuple(index)].max() > threshold
        bright[session] = hits
    assert len(record["anatomy"]["vessels_mm"]) >= 6
    assert bright["7T"] >= len(record["anatomy"]["vessels_mm"]) / 2
    assert bright["3T"] < bright["7T"] / 2


def test_heads_have_skull_and_scalp_outside_the_brain_mask(demo):
    labels, mask = demo.labels(CLEAN, "7T"), demo.mask(CLEAN, "7T").astype(bool)
    shell = np.isin(labels, (SKULL, SCALP))
    assert shell.sum() > 0.3 * mask.sum()
    assert (mask & shell).sum() < 0.02 * mask.sum()
    around = ndi.binary_dilation(mask, iterations=2) & ~mask
    assert shell[around].mean() > 0.3  # the brain is wrapped by skull and scalp
    t1w = demo.image(CLEAN, "7T", "T1w")
    assert t1w[labels == SCALP].mean() > t1w[labels == WM].mean()  # scalp fat is bright on T1w


def test_subjects_differ_in_shape(demo):
    wm = [demo.labels(s, "7T") == WM for s in demo.truth["subjects"]]
    overlap = 2 * (wm[0] & wm[1]).sum() / (wm[0].sum() + wm[1].sum())
    assert overlap < 0.95
    assert len({int(w.sum()) for w in wm}) == len(wm)


def test_recorded_lesion_is_drawn_and_bright_on_t2w(demo):
    with_lesion = [s for s in demo.truth["subjects"] if demo.truth["per_subject"][s]["anatomy"]["lesion"]]
    assert with_lesion, f"seed {demo.seed} should give at least one lesion"
    index = int(with_lesion[0].removeprefix("sub-"))
    volumes = render_subject(
        SubjectPlan(index=index, seed=demo.seed), grid_for_shape(DEFAULT_SHAPE)
    ).sessions["ses-7T"]
    lesion, wm = volumes.fractions[LESION] >= 0.5, volumes.fractions[WM] >= 0.8
    assert lesion.sum() >= 3
    assert volumes.images["T2w"][lesion].mean() > 1.2 * volumes.images["T2w"][wm].mean()
