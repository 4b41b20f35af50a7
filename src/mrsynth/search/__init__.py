"""Hyperparameter search over a spec's `search` section (Optuna lives here and nowhere else)."""

from mrsynth.search.run import SearchOptions, SearchResult, run_search
from mrsynth.search.specs import best_spec_data, load_search_base, trial_spec
from mrsynth.search.storage import default_storage
from mrsynth.search.worker import Tally, tally

__all__ = ["SearchOptions", "SearchResult", "Tally", "best_spec_data", "default_storage", "load_search_base",
           "run_search", "tally", "trial_spec"]
