"""Constants shared by the motion tests (a uniquely named module: several test folders have a conftest)."""

from __future__ import annotations

import numpy as np

VOXEL_MM = np.array([7.0, 7.0, 7.0])
