"""What the training loop reports during a tracked run: epoch metrics to MLflow, a line per validation epoch,
sample grids, the caller's hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mrsynth.runs import TrackedRun
from mrsynth.train.batches import SliceArrays
from mrsynth.train.loop import Hooks
from mrsynth.train.summary import epoch_line


@dataclass
class EpochLog:
    """The loop's hooks for `run`: each epoch's metrics to MLflow, a line per validation epoch to `say` (the
    selection metric beside the validation baselines), a grid of validation samples every `train.sample_every`
    epochs and at the last; then both events go on to `then` (e.g. a search pruner)."""

    run: TrackedRun
    val_arrays: SliceArrays
    then: Hooks | None = None
    val_baselines: dict[str, float] = field(default_factory=dict)
    say: Callable[[str], None] = lambda line: None

    def hooks(self) -> Hooks:
        return Hooks(self.epoch_end, self.validated)

    def epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        self.run.tracker.log_metrics(metrics, step=epoch)
        if self.then is not None:
            self.then.epoch_end(epoch, metrics)

    def validated(self, epoch: int, metrics: dict[str, float], preds: np.ndarray) -> None:
        exp = self.run.loaded.experiment
        self.say(epoch_line(epoch, exp.train.epochs, metrics, self.val_baselines, exp.eval.select_by))
        if epoch % exp.train.sample_every == 0 or epoch == exp.train.epochs:
            self._log_sample_grid(epoch, preds)
        if self.then is not None:
            self.then.validated(epoch, metrics, preds)

    def _log_sample_grid(self, epoch: int, preds: np.ndarray) -> None:
        # imported per call: the search benchmark times sample_grid by patching its module
        from mrsynth.train.evaluate import sample_grid

        name = self.run.loaded.experiment.name
        path = self.run.run_dir / "samples" / f"epoch_{epoch:04d}.png"
        self.run.tracker.log_artifact(sample_grid(preds, self.val_arrays, path, title=f"{name} epoch {epoch}"), "samples")
