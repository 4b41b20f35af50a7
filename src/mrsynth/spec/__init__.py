"""Experiment specs: pydantic models, loading with `extends`, overrides, hashing, schema."""
