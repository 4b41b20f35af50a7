"""Content-addressed, stage-by-stage cache of preprocessing and slicing results."""

from mrsynth.cache.keys import file_fingerprint, stage_key
from mrsynth.cache.store import CacheStore, Entry

__all__ = ["CacheStore", "Entry", "file_fingerprint", "stage_key"]
