"""ANTs runs single-threaded unless the caller chose a thread count (reproducible registrations)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mrsynth.preprocess.threads import ITK_THREADS_VARIABLE, limit_ants_threads

PROBE = "import os; from mrsynth.preprocess.threads import load_ants; load_ants(); print(os.environ['{}'])"


def _threads_after_load(environment: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != ITK_THREADS_VARIABLE} | environment
    done = subprocess.run([sys.executable, "-c", PROBE.format(ITK_THREADS_VARIABLE)], env=env,
                          capture_output=True, text=True, check=True, timeout=120)
    return done.stdout.strip()


def test_default_is_one_thread():
    assert _threads_after_load({}) == "1"


def test_caller_choice_is_kept():
    assert _threads_after_load({ITK_THREADS_VARIABLE: "2"}) == "2"


def test_limit_sets_the_variable(monkeypatch):
    monkeypatch.setenv(ITK_THREADS_VARIABLE, "1")  # so the variable is restored after the test
    limit_ants_threads(3)
    assert os.environ[ITK_THREADS_VARIABLE] == "3"
    with pytest.raises(ValueError, match="at least 1"):
        limit_ants_threads(0)
