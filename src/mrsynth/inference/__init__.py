"""Inference: how a trained generator predicts stored slices, a split or a whole volume (2D slices or 3D patches).

`mrsynth predict` and a run's test predictions both call `volume.predict_volume`; every prediction holds the
background value outside the source brain mask (`background.in_brain`). Nothing here imports
training, evaluation, the runner or tracking, so each of those can import this package without a circle."""
