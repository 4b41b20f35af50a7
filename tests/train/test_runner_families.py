"""`mrsynth run` end to end for the unpaired and 3D-patch families on the tiny demo."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from mrsynth.spec.load import load_spec
from mrsynth.train.build import build_networks
from mrsynth.train.runner import run_experiment
from mrsynth_testing import tiny_spec_data

RESNET = {"kind": "resnet", "n_blocks": 1, "base_width": 4}
PATCHGAN = {"kind": "patchgan", "n_layers": 1, "base_width": 4}
FAMILIES = {
    "nec": {"data": {"dataset": {"paired": False}}, "masking": {"kind": "none"},
            "model": {"generator": RESNET, "discriminator": PATCHGAN}, "loss": {"kind": "nec", "ngf": 5.0}},
    "cyclegan": {"data": {"dataset": {"paired": False}}, "masking": {"kind": "none"},
                 "model": {"generator": RESNET, "discriminator": PATCHGAN}, "loss": {"kind": "cyclegan", "pool_size": 4}},
    "nie3d": {"data": {"patches": {"size": [16, 16, 16], "per_subject": 4, "stride": 8}}, "masking": {"kind": "intersection", "apply_to": ["l2"]},
              "model": {"generator": {"kind": "dilated_fcn", "dims": 3, "widths": [4, 4, 1], "residual": True},
                        "discriminator": {"kind": "cnn", "widths": [2, 2, 2, 2], "fc": [4, 1]}},
              "loss": {"l1": 0.0, "l2": 1.0, "gdl": 1.0, "adversarial": 0.5, "conditional": False}},
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_runs_end_to_end_and_logs_its_networks(family, tiny_demo, write_spec, run_env):
    data = tiny_spec_data(tiny_demo, family, **FAMILIES[family])
    data["model"] = FAMILIES[family]["model"]  # a new kind replaces the U-Net's settings
    data["train"] = {**data["train"], "epochs": 1, "decay_epochs": 0, "batch_size": 4}
    spec = load_spec(write_spec(family, data))
    result = run_experiment(spec, progress=False, workers=1, qc_figures=False)
    assert result.status == "FINISHED", result.reason
    for key in ("test/psnr_brain", "test/ssim_brain", "test/edge_corr_source"):
        assert np.isfinite(result.metrics[key]), key
    run = MlflowClient(result.tracking_uri).get_run(result.run_id)
    counts = build_networks(spec.experiment).parameter_counts()
    assert {k: int(v) for k, v in run.data.params.items() if k.startswith("n_params.")} == {
        f"n_params.{k}": v for k, v in counts.items()}
    assert run.data.metrics["train/g_total"] > 0
    assert run.data.params["loss.kind"] == spec.experiment.loss.kind
    assert (result.run_dir / "outputs" / "model.pt").is_file()
