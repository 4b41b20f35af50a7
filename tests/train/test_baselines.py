"""Trivial baselines on synthetic slices where the right answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mrsynth.train.baselines as baselines_module
from mrsynth.metrics import evaluate_slices
from mrsynth.train.baselines import beats, best_kind, fit_baselines, with_best_trivial
from mrsynth.train.batches import SliceArrays
from mrsynth.train.evaluate import score_baselines, summarise


def synthetic(n: int, seed: int, mapping) -> SliceArrays:
    """(n, 32, 32) textured discs; the target is `mapping(source)` inside the brain, -1 outside."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:32, :32]
    brain = np.broadcast_to((yy - 16) ** 2 + (xx - 16) ** 2 < 12**2, (n, 32, 32))
    source = np.where(brain, rng.uniform(-1, 1, (n, 32, 32)), -1.0).astype(np.float32)
    target = np.where(brain, mapping(source), -1.0).astype(np.float32)
    masks = np.repeat(brain[:, None], 3, axis=1).astype(np.uint8)
    return SliceArrays(source, target, masks, np.arange(n))


def decreasing(x):
    return -np.tanh(2 * x) / np.tanh(2)  # T1 → T2-like: bright becomes dark, monotone but not linear


def scores(arrays: SliceArrays, fitted) -> dict[str, float]:
    table = pd.DataFrame({"subject": ["a"] * 3 + ["b"] * 3, "row": np.arange(6)})
    return with_best_trivial(summarise(score_baselines(fitted, arrays, table), "val"), "val")


def test_a_monotone_target_is_matched_by_the_monotone_baseline():
    fitted = fit_baselines(synthetic(20, 0, decreasing))
    val = synthetic(6, 1, decreasing)
    metrics = scores(val, fitted)
    assert metrics["val/monotone_psnr_brain"] > 40 and metrics["val/monotone_mae_brain"] < 0.01
    assert metrics["val/monotone_ssim_brain"] > 0.99
    assert metrics["val/identity_psnr_brain"] < 5  # the negated contrast: identity is far off
    assert best_kind(metrics, "val", "mae_brain") == best_kind(metrics, "val", "ssim") == "monotone"
    assert metrics["val/best_trivial_mae_brain"] == metrics["val/monotone_mae_brain"]


def test_constant_is_the_training_mean_and_identity_is_the_source():
    train = synthetic(10, 2, decreasing)
    fitted = fit_baselines(train)
    assert fitted.constant == pytest.approx(float(train.target[train.masks[:, 1] > 0].mean()), abs=1e-6)
    val = synthetic(6, 3, decreasing)
    metrics = scores(val, fitted)
    brain = val.masks[:, 2] > 0
    expected = [evaluate_slices(val.source[i : i + 3], val.target[i : i + 3], brain[i : i + 3]) for i in (0, 3)]
    assert metrics["val/identity_ssim"] == pytest.approx(np.mean([e["ssim"] for e in expected]))
    constant = fitted.image("constant", val.source, val.masks[:, 0])
    assert set(np.unique(constant)) == {np.float32(-1.0), np.float32(fitted.constant)}


def test_the_fit_reads_the_kept_rows_only_and_in_chunks(monkeypatch):
    """Rows outside `rows` (dropped by QC) do not count; reading 3 slices at a time gives the same fit."""
    arrays = synthetic(12, 4, decreasing)
    arrays.target[6:] = 0.9  # junk in rows the QC filter dropped
    kept = SliceArrays(arrays.source, arrays.target, arrays.masks, np.arange(6))
    whole = fit_baselines(kept)
    monkeypatch.setattr(baselines_module, "CHUNK", 3)
    chunked = fit_baselines(kept)
    assert chunked.constant == pytest.approx(whole.constant)
    np.testing.assert_allclose(chunked.mapped, whole.mapped, atol=1e-9)
    assert whole.constant == pytest.approx(float(arrays.target[:6][arrays.masks[:6, 1] > 0].mean()))


def test_better_means_lower_for_mae_and_higher_otherwise():
    assert beats(0.2, 0.3, "mae_brain") and not beats(0.3, 0.2, "mae")
    assert beats(0.5, 0.4, "ssim_brain") and not beats(0.4, 0.4, "psnr")
    assert beats(float("nan"), 0.4, "ssim") is None
