"""Generated demo dataset: paired 3T/7T synthetic heads with known misregistration and injected defects."""

from __future__ import annotations

from mrsynth.demo.generate import DEFAULT_SUBJECTS, GENERATOR_VERSION, generate_demo
from mrsynth.demo.grid import DEFAULT_SHAPE

__all__ = ["DEFAULT_SHAPE", "DEFAULT_SUBJECTS", "GENERATOR_VERSION", "generate_demo"]
