"""The `fit` signature: the experiment, networks, data, validation and device by position; the rest by name."""

from __future__ import annotations

import inspect

import pytest
import torch

from mrsynth.train.loop import fit


def test_fit_takes_everything_after_device_by_keyword_only(tmp_path):
    parameters = inspect.signature(fit).parameters.values()
    keyword_only = {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert keyword_only == {"ckpt_dir", "hooks", "resume", "progress", "dist"}
    with pytest.raises(TypeError, match="positional"):
        fit(None, None, None, lambda: ({}, None), torch.device("cpu"), tmp_path)
