"""The `train` section's derived defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrsynth.spec.load import load_spec

MAIN = Path(__file__).resolve().parents[2] / "experiments" / "3t7t-masked.json"


@pytest.mark.parametrize("epochs, decay", [(4, 2), (7, 3), (1, 0), (20, 10)])
def test_decay_epochs_defaults_to_half_of_epochs(tmp_path, epochs, decay):
    """A fixed default of 10 made `--set train.epochs=4` fail on a number nobody wrote."""
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"name": "t", "train": {"epochs": epochs}}))
    assert load_spec(path).experiment.train.decay_epochs == decay
    assert load_spec(MAIN, ["train.epochs=4", "train.decay_epochs=null"]).experiment.train.decay_epochs == 2
