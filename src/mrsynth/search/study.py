"""Open (or join) a study in its storage; refuse to mix trials of a spec that has changed since."""

from __future__ import annotations

from typing import Any

from mrsynth.errors import MrsynthError
from mrsynth.search.specs import SearchBase
from mrsynth.search.strategy import build_pruner, build_sampler, worker_seed
from mrsynth.spec.experiment import spec_hash

FINGERPRINT_ATTR = "spec_fingerprint"
# Settings that may change while a study goes on: they say how long to search, not what.
FREE_KEYS = ("n_trials", "timeout")


def study_fingerprint(base: SearchBase) -> str:
    """The resolved spec's hash without its description and the search's budget."""
    data = base.loaded.experiment.resolved()
    data.pop("description", None)
    data["search"] = {k: v for k, v in data["search"].items() if k not in FREE_KEYS}
    return spec_hash(data)


def open_study(storage: Any, name: str, base: SearchBase, worker: int) -> Any:
    import optuna

    search = base.search
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # each trial gets our own one-line report
    study = optuna.create_study(storage=storage, study_name=name, direction=search.direction, load_if_exists=True)
    fingerprint = study_fingerprint(base)
    found = study.user_attrs.get(FINGERPRINT_ATTR)
    if found is None:
        study.set_user_attr(FINGERPRINT_ATTR, fingerprint)
        study.set_user_attr("spec_name", base.name)
        study.set_user_attr("spec_path", str(base.loaded.path))
    elif found != fingerprint:
        raise MrsynthError(f"study {name} was started from a different version of {base.name} "
                           f"(fingerprint {found[:12]}, now {fingerprint[:12]}): pass --study NEW_NAME to start a new study")
    before = len(study.get_trials(deepcopy=False))
    study.sampler = build_sampler(search, worker_seed(search.seed, worker, before))
    study.pruner = build_pruner(search, base.loaded.experiment.train.epochs)
    return study
