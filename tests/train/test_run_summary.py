"""What `mrsynth run` prints: the per-epoch validation line and the end-of-run table with its warning."""

from __future__ import annotations

from mrsynth.train.summary import BEATEN, epoch_line, summary_lines

VAL_BASELINES = {"val/identity_ssim_brain": 0.367, "val/constant_ssim_brain": 0.41, "val/monotone_ssim_brain": 0.455}


def finished(val_ssim: float, beaten: float) -> dict[str, float]:
    test = {f"test/{k.removeprefix('val/')}": v - 0.01 for k, v in VAL_BASELINES.items()}
    return {**VAL_BASELINES, **test, "val/ssim_brain": val_ssim, "test/ssim_brain": val_ssim - 0.02,
            "best_epoch": 3.0, BEATEN: beaten}


def test_the_epoch_line_names_the_metric_identity_and_the_best_trivial_baseline():
    line = epoch_line(3, 20, {"val/ssim_brain": 0.412}, VAL_BASELINES, "val/ssim_brain")
    assert line == "epoch 3/20  val ssim_brain 0.4120  (identity 0.3670, best trivial 0.4550: monotone)"


def test_a_model_below_the_best_trivial_baseline_gets_a_warning():
    lines = summary_lines(finished(0.412, 0.0), "val/ssim_brain")
    assert lines[0] == "selected checkpoint: epoch 3 (best val/ssim_brain)"
    row = next(line for line in lines if line.startswith("ssim_brain") and " val " in line)
    assert row.split() == ["ssim_brain", "val", "0.4120", "0.3670", "0.4100", "0.4550", "0.4550", "monotone"]
    assert any(line.split()[:2] == ["ssim_brain", "test"] for line in lines)
    assert lines[-1].startswith("WARNING: the selected checkpoint (epoch 3, val/ssim_brain 0.4120) does not beat "
                                "the best trivial baseline on validation (monotone 0.4550)")


def test_a_model_above_the_baselines_gets_no_warning_and_a_failed_run_no_table():
    assert not any("WARNING" in line for line in summary_lines(finished(0.5, 1.0), "val/ssim_brain"))
    assert summary_lines({}, "val/ssim_brain") == []
