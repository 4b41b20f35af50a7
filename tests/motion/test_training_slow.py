"""The demo motion study end to end (slow): experiments/motion-qc.json on a freshly generated demo, then
experiments/3t7t-masked-motion.json's volume filter using the trained model on the same demo."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mrsynth.registry import iter_records
from mrsynth.spec.load import load_spec
from mrsynth_testing import REPO, stores_under

pytestmark = pytest.mark.slow


def _copy_spec(name: str, folder, **changes) -> dict:
    data = json.loads((REPO / "experiments" / name).read_text())
    data.pop("$schema", None)
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return data


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from mrsynth.demo import generate_demo
    from mrsynth.motion.labels import write_demo_labels
    from mrsynth.motion.runner import run_motion_qc

    folder = tmp_path_factory.mktemp("motion-slow")
    demo = folder / "demo"
    generate_demo(demo, seed=0)
    labels = write_demo_labels(demo)
    (experiments := folder / "experiments").mkdir()
    spec = _copy_spec("motion-qc.json", experiments, **{"data.dataset.root": str(demo), "data.exclude": str(labels),
                                                         "transfer.labels": str(labels)})
    (experiments / "motion-qc.json").write_text(json.dumps(spec))
    with stores_under(folder) as env:
        result = run_motion_qc(load_spec(experiments / "motion-qc.json"), progress=False)
        yield folder, demo, result, env


def test_short_cpu_training_predicts_scores_that_correlate_with_the_truth(trained):
    _, _, result, _ = trained
    print(f"\nmotion-qc test R² {result.metrics['test/r2']:.3f}, Pearson r {result.metrics['test/pearson']:.3f}, "
          f"MAE {result.metrics['test/mae']:.3f} mm, best val R² {result.metrics['val/best_r2']:.3f}")
    assert result.status == "FINISHED"
    assert result.metrics["test/pearson"] > 0.6 and result.metrics["test/r2"] > 0.3


def test_the_demo_motion_volume_scores_above_the_filter_limit_and_the_rest_below(trained):
    folder, demo, result, _ = trained
    (moved,) = json.loads((demo / "ground_truth.json").read_text())["defects"]["motion_corrupted"]
    corrupted = f"{moved['subject']}_{moved['session']}_{moved['contrast']}"
    scores = pd.read_csv(result.run_dir / "outputs" / "volume_scores.csv").set_index("volume")["predicted_score"]
    limit = json.loads((REPO / "experiments" / "3t7t-masked-motion.json").read_text())["data"]["qc"]["max_motion_score"]
    print(f"\n{corrupted}: {scores[corrupted]:.2f} mm; other volumes at most {scores.drop(corrupted).max():.2f} mm")
    assert scores[corrupted] > limit > scores.drop(corrupted).max()


def test_the_filter_drops_the_demo_motion_corrupted_volume(trained, monkeypatch):
    from mrsynth.cache import CacheStore
    from mrsynth.data.prepare import prepare_data
    from mrsynth.train.runner import qc_filtered_rows

    folder, demo, _, env = trained
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (moved,) = json.loads((demo / "ground_truth.json").read_text())["defects"]["motion_corrupted"]
    contrast = moved["contrast"]  # translate the corrupted contrast, so the image is a source or target volume
    spec = _copy_spec("3t7t-masked-motion.json", folder / "experiments", **{"data.dataset.root": str(demo),
                      "data.dataset.source.suffix": contrast, "data.dataset.target.suffix": contrast,
                      "data.qc.motion_model": "motion-qc"})
    spec["extends"] = str(REPO / "experiments" / spec["extends"])
    (folder / "experiments" / "filtered.json").write_text(json.dumps(spec))
    loaded = load_spec(folder / "experiments" / "filtered.json")
    data = prepare_data(loaded, CacheStore(folder / "cache"), progress=False)
    rows, table = qc_filtered_rows(data, loaded.experiment.data.qc)
    subject = moved["subject"].removeprefix("sub-")
    by_subject = table.groupby("subject")["reasons"].apply(lambda r: r.str.contains("motion").all())
    assert by_subject[subject] and not by_subject.drop(subject).any()
    assert not np.isin(table.loc[table["subject"] == subject, "row"], rows).any()  # none of its slices trains
    assert [r["spec_name"] for r in iter_records() if r["status"] == "FINISHED"] == ["motion-qc"]
