"""`python -m mrsynth` (also what `torchrun -m mrsynth` runs)."""

from mrsynth.cli import run

run()
