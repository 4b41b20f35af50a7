"""From a spec's dataset to cached, QC-scored, memory-mappable slice pairs."""
