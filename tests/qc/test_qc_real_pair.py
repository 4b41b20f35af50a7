"""Flag rates of the default QC thresholds on real co-registered pairs, clean and rolled by 3 slices.

Requirement: clean pair <= 5% of brain slices flagged; target rolled by +3 along axis 2
(target_new[..., z] = target[..., z - 3], so source z matches target_new z + 3) and k = 4:
>= 90% flagged and the median best_offset moves to +3.

On BraTS-GLI-00001 t1n vs t2w this cannot hold: by MI (raw, slab-pooled, and edge correlation too)
that pair already sits about 1.5 slices apart (median best_offset -1; the t1n is blurred along z),
so the roll moves it to about +1.5, no more misaligned than before. The requirement is checked on
pairs where the premise holds, and on t1n/t2w the estimator is checked to follow the roll exactly.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from qc_helpers import load_real_pair

from mrsynth.qc.filter import apply_qc
from mrsynth.qc.metrics import slice_pair_metrics
from mrsynth.spec.qc import QCSpec

ROLL = 3


@functools.cache
def flagged_tables(name: str):
    source, target = load_real_pair(name)
    clean = apply_qc(slice_pair_metrics(source, target), QCSpec())
    search = QCSpec(max_offset=4)
    rolled_target = np.roll(target, ROLL, axis=2)
    rolled = apply_qc(slice_pair_metrics(source, rolled_target, max_offset=search.max_offset), search)
    clean_k4 = slice_pair_metrics(source, target, max_offset=4)
    return clean, rolled, clean_k4


@pytest.mark.parametrize("name", ["tcga-t1-t2", "brats-t1c-t2w"])
def test_default_thresholds_keep_clean_pairs_and_flag_rolled_ones(name):
    clean, rolled, clean_k4 = flagged_tables(name)
    assert len(clean) > 80 and len(rolled) > 80
    assert clean["flagged"].mean() <= 0.05
    assert rolled["flagged"].mean() >= 0.90
    assert rolled["best_offset"].median() == clean_k4["best_offset"].median() + ROLL


def test_rolled_pair_has_median_best_offset_plus_three():
    _, rolled, _ = flagged_tables("tcga-t1-t2")
    assert rolled["best_offset"].median() == ROLL


def test_slab_offset_follows_a_roll_on_brats_t1n_t2w():
    _, rolled, clean_k4 = flagged_tables("brats-t1n-t2w")
    clean_k4, rolled = clean_k4.set_index("slice"), rolled.set_index("slice")
    common = clean_k4.index.intersection(rolled.index)
    # slices whose clean estimate still fits in the search window after moving by +3
    movable = common[clean_k4.loc[common, "slab_offset"].between(-4, 4 - ROLL)]
    moved = rolled.loc[movable, "slab_offset"] - clean_k4.loc[movable, "slab_offset"]
    assert len(movable) > 80
    assert (moved == ROLL).mean() >= 0.9
    assert rolled["best_offset"].median() - clean_k4["best_offset"].median() == ROLL


@pytest.mark.xfail(strict=True, reason="t1n/t2w is ~1.5 slices apart already (median best_offset -1); see module doc")
def test_requirement_as_written_on_brats_t1n_t2w():
    clean, rolled, _ = flagged_tables("brats-t1n-t2w")
    assert clean["flagged"].mean() <= 0.05
    assert rolled["flagged"].mean() >= 0.90
    assert rolled["best_offset"].median() == ROLL
