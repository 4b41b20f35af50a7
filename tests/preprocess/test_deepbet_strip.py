"""deepbet masks: the spec's settings reach deepbet, on the worker's thread budget; on real heads it strips the skull."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

import mrsynth.preprocess.deepbet_strip as deepbet_strip
from mni_brain_reference import AVG152_T1, IXI_FOLDER, IXI_HEADS, agreement, head_reference, template_mask
from mrsynth.errors import DataError, MrsynthError
from mrsynth.preprocess.skullstrip import brain_mask
from mrsynth.preprocess.threads import ITK_THREADS_VARIABLE
from mrsynth.preprocess.volumes import load_mask, load_volume
from mrsynth.spec.preprocess import AntsMask, DeepbetSkullStrip, ThresholdSkullStrip
from mrsynth_testing import shared_mri


class RecordingExtractor:
    """Stands in for deepbet's BrainExtraction: records what it was asked, answers with a fixed mask."""

    def __init__(self, answer: np.ndarray | Exception):
        self.answer, self.calls = answer, []

    def run(self, image, threshold, n_dilate):
        import torch

        self.calls.append({"image": image, "threshold": threshold, "n_dilate": n_dilate,
                           "threads": torch.get_num_threads()})
        if isinstance(self.answer, Exception):
            raise self.answer
        return image, nib.Nifti1Image(self.answer.astype(np.uint8), image.affine), 0.0


@pytest.fixture
def head(tmp_path, phantoms):
    image, brain, affine = phantoms.image("t1", skull=True)
    return load_volume("sub01", phantoms.save(tmp_path / "sub01_T1w.nii.gz", image, affine)), brain


def test_spec_settings_reach_deepbet_on_one_thread(head, monkeypatch):
    import torch

    volume, brain = head
    extractor = RecordingExtractor(brain)
    monkeypatch.setattr(deepbet_strip, "brain_extractor", lambda: extractor)
    monkeypatch.setenv(ITK_THREADS_VARIABLE, "1")  # what a preprocessing worker sets
    before = torch.get_num_threads()
    mask = brain_mask("sub01", volume, DeepbetSkullStrip(threshold=0.3, dilation=-1), None)
    (call,) = extractor.calls
    assert (call["threshold"], call["n_dilate"], call["threads"]) == (0.3, -1, 1)
    assert np.array_equal(call["image"].get_fdata(), volume.array) and np.allclose(call["image"].affine, volume.affine)
    assert mask.dtype == bool and np.array_equal(mask, brain)
    assert torch.get_num_threads() == before


def test_no_brain_found_is_a_data_error_naming_subject_and_file(head, monkeypatch):
    volume, _ = head
    failing = RecordingExtractor(AssertionError("Not enough foreground to calculate bounding box"))
    monkeypatch.setattr(deepbet_strip, "brain_extractor", lambda: failing)
    with pytest.raises(DataError, match=r"subject sub01: .*sub01_T1w.nii.gz: deepbet found no brain \(Not enough"):
        brain_mask("sub01", volume, DeepbetSkullStrip(), None)


def test_missing_package_names_the_install_command(monkeypatch):
    import importlib.metadata

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    with pytest.raises(MrsynthError, match=r"pip install deepbet==1\.0\.2"):
        deepbet_strip.deepbet_version()


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """SPM's avg152T1 head and nilearn's MNI152 brain mask on its grid."""
    pytest.importorskip("nilearn")
    head = shared_mri(*AVG152_T1)
    return head, template_mask(head, tmp_path_factory.mktemp("mni"))


def test_deepbet_finds_the_mni152_brain_in_the_avg152_head(template):
    head, reference = template
    volume = load_volume("avg152", head)
    found = agreement(brain_mask("avg152", volume, DeepbetSkullStrip(), None), load_mask("avg152", reference, head),
                      volume.affine)
    # measured: Dice 0.971, 3.5 % of the mask outside, 1.91 L against 1.88 L
    assert found.dice >= 0.95 and found.outside <= 0.06


@pytest.mark.slow
@pytest.mark.parametrize("name", IXI_HEADS)
def test_deepbet_strips_raw_ixi_heads_where_threshold_and_ants_do_not(name, template, tmp_path):
    path = shared_mri(IXI_FOLDER, name)
    volume = load_volume(name, path)
    reference = load_mask(name, head_reference(path, *template, tmp_path), path)
    found = {spec.kind: agreement(brain_mask(name, volume, spec, None), reference, volume.affine)
             for spec in (DeepbetSkullStrip(), ThresholdSkullStrip(), AntsMask())}
    # measured: deepbet Dice 0.945-0.957, 5.0-7.8 % outside; threshold and ants_mask Dice 0.59-0.73
    assert found["deepbet"].dice >= 0.90 and found["deepbet"].outside <= 0.12
    assert 1.1 <= found["deepbet"].litres <= 1.9
    assert found["deepbet"].dice >= max(found["threshold"].dice, found["ants_mask"].dice) + 0.15
