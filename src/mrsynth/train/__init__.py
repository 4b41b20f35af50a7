"""Training: networks built from the spec, one loop function, evaluation, checkpoints."""
