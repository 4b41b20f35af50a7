"""Flag rates of the default QC thresholds on real co-registered pairs, clean and rolled by 3 slices.

Requirement: clean pair <= 5% of brain slices flagged; target rolled by +3 along axis 2
(target_new[..., z] = target[..., z - 3], so source z matches target_new z + 3) and k = 4:
>= 90% flagged and the median best_offset (raw, and the slab estimate) is +3.

It holds on the four TCGA-DU-7294 pairs. It cannot hold on BraTS-GLI-00001 pairs with its t2w,
which is itself off along z: the offset d (source z matches target z + d) that maximises
whole-volume MI against a linearly interpolated sub-slice shift of the t2w is -0.5 (t1c), -1.25
(t2f) and -2.0 (t1n) slices, and the correlation of in-plane gradient magnitudes peaks at -1.25,
-1.5 and -2.5 (the same check gives 0 and +0.25 on TCGA t1/t2 and t1c/t2). The per-slice offsets
agree (median best_offset -1 on all three). Rolled by +3 such a pair is +0.5 to +2.5 apart, not
+3: t1c/t2w flags as required but its medians read +2; t1n/t2w is misaligned already when clean
(22% flagged, rightly) and the roll brings it closer. On a synthetic pair with one anatomy
(BraTS t1c against a non-linear contrast of itself, plus noise) the estimator is exact: median 0
clean, +3 rolled, and a sub-slice shift s of the target reads round(s).
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
ALIGNED_PAIRS = ["tcga-t1-t2", "tcga-t1c-t2", "tcga-flair-t2", "tcga-t1-t1c"]


@functools.cache
def flagged_tables(name: str):
    """(clean flagged table, rolled flagged table with k = 4, clean metrics with k = 4) of a named real pair."""
    source, target = load_real_pair(name)
    clean = apply_qc(slice_pair_metrics(source, target), QCSpec())
    search = QCSpec(max_offset=4)
    rolled_target = np.roll(target, ROLL, axis=2)
    rolled = apply_qc(slice_pair_metrics(source, rolled_target, max_offset=search.max_offset), search)
    clean_k4 = slice_pair_metrics(source, target, max_offset=4)
    return clean, rolled, clean_k4


def assert_requirement(name: str) -> None:
    clean, rolled, _ = flagged_tables(name)
    assert len(clean) > 80 and len(rolled) > 80
    assert clean["flagged"].mean() <= 0.05
    assert rolled["flagged"].mean() >= 0.90
    assert rolled["best_offset"].median() == ROLL
    assert rolled["slab_offset"].median() == ROLL


@pytest.mark.parametrize("name", ALIGNED_PAIRS)
def test_default_thresholds_keep_clean_pairs_and_flag_rolled_ones(name):
    assert_requirement(name)


@pytest.mark.parametrize("name", ["brats-t1c-t2w", "brats-t1n-t2w", *ALIGNED_PAIRS])
def test_offset_estimates_move_by_exactly_the_roll(name):
    _, rolled, clean_k4 = flagged_tables(name)
    clean_k4, rolled = clean_k4.set_index("slice"), rolled.set_index("slice")
    common = clean_k4.index.intersection(rolled.index)
    # slices whose clean estimate still fits in the search window after moving by +3
    movable = common[clean_k4.loc[common, "slab_offset"].between(-4, 4 - ROLL)]
    moved = rolled.loc[movable, "slab_offset"] - clean_k4.loc[movable, "slab_offset"]
    assert len(movable) > 80
    assert (moved == ROLL).mean() >= 0.9


def test_brats_t1c_t2w_flags_as_required_but_sits_a_slice_apart():
    clean, rolled, clean_k4 = flagged_tables("brats-t1c-t2w")
    assert clean["flagged"].mean() <= 0.05 and rolled["flagged"].mean() >= 0.90
    assert clean_k4["best_offset"].median() == clean_k4["slab_offset"].median() == -1
    assert rolled["best_offset"].median() == rolled["slab_offset"].median() == -1 + ROLL


@pytest.mark.xfail(strict=True, reason="BraTS t2w sits 0.5-1.25 slices off the t1c (whole-volume MI, gradients): rolled median +2")
def test_requirement_as_written_on_brats_t1c_t2w():
    assert_requirement("brats-t1c-t2w")


@pytest.mark.xfail(strict=True, reason="BraTS t1n/t2w is 2-2.5 slices apart (whole-volume MI, gradients): 22% flagged clean")
def test_requirement_as_written_on_brats_t1n_t2w():
    assert_requirement("brats-t1n-t2w")
