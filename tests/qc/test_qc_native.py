"""Which compiled QC loops a process uses: the ahead-of-time build only when it matches kernels.py."""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest

from mrsynth.qc import native


def fake_build(stamp: int) -> types.ModuleType:
    module = types.ModuleType("fake")
    module.stamp = lambda: stamp
    for name in ("joint_counts", "intersection_stats", "survey_images", "survey_masks"):
        setattr(module, name, lambda *args, name=name: name)
    return module


def test_a_build_of_other_source_is_not_used(monkeypatch):
    monkeypatch.setattr(native.importlib, "import_module", lambda name: fake_build(native.source_stamp() + 1))
    assert native._ahead_of_time() is None


def test_a_matching_build_is_used_and_checks_its_arrays(monkeypatch):
    monkeypatch.setattr(native.importlib, "import_module", lambda name: fake_build(native.source_stamp()))
    built = native._ahead_of_time()
    assert built is not None and not built.threads
    both, plane = np.zeros(4, np.int64), np.zeros((3, 2), bool)
    masks = np.zeros((3, 2, 4), bool)
    built.mask_survey(masks, masks, 2, both, plane)  # bool volumes go to the mask survey
    with pytest.raises(TypeError, match="C-contiguous"):
        built.survey_masks(masks.transpose(1, 0, 2), masks, 2, both, plane)
    with pytest.raises(TypeError, match="float32"):
        built.survey_images(masks, masks, 2, both, plane)


def test_loops_give_the_jit_results():
    from mrsynth.qc import kernels

    rng = np.random.default_rng(0)
    a, b = (rng.random((5, 6, 7)) > 0.5).astype(np.float32), (rng.random((5, 6, 7)) > 0.3).astype(np.float32)
    ours = np.zeros(7, np.int64), np.zeros((5, 6), bool)
    theirs = np.zeros(7, np.int64), np.zeros((5, 6), bool)
    native.loops().mask_survey(a, b, 2, *ours)
    kernels.mask_survey(a, b, 2, *theirs)
    assert all(np.array_equal(x, y) for x, y in zip(ours, theirs, strict=True))


def test_qc_pair_imports_neither_scikit_learn_nor_matplotlib():
    code = "import sys; import mrsynth.cli, mrsynth.qc.pair; print(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "'sklearn'" not in loaded and "'matplotlib'" not in loaded and "'mrsynth'" in loaded
