"""Joint-histogram MI and its Miller–Madow bias, against entropies computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mrsynth.qc.mi import histogram_mi, plugin_bias


def miller_madow_entropy(counts: np.ndarray) -> float:
    """Plug-in entropy (nats) plus (occupied bins - 1) / 2N."""
    counts = counts[counts > 0].astype(float)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum() + (counts.size - 1) / (2 * counts.sum()))


def test_corrected_mi_is_the_difference_of_corrected_entropies():
    rng = np.random.default_rng(0)
    joint = rng.poisson(3.0, size=(5, 8, 8)) * (rng.random((5, 8, 8)) < 0.6)  # some empty cells
    corrected = histogram_mi(joint) - plugin_bias(joint)
    for table, value in zip(joint, corrected, strict=True):
        expected = (miller_madow_entropy(table.sum(axis=1)) + miller_madow_entropy(table.sum(axis=0))
                    - miller_madow_entropy(table.ravel()))
        assert value == pytest.approx(expected, rel=1e-12)


def test_bias_counts_occupied_cells_rows_and_columns():
    joint = np.array([[[1, 1], [1, 1]], [[3, 0], [1, 2]], [[0, 0], [0, 0]]])
    bias = plugin_bias(joint)
    assert bias[0] == pytest.approx((4 - 2 - 2 + 1) / 8)
    assert bias[1] == 0.0  # 3 cells in 2 rows and 2 columns
    assert np.isnan(bias[2])


def test_bias_shrinks_as_the_histogram_fills():
    small = np.ones((1, 4, 4), dtype=np.int64)
    assert plugin_bias(small * 10)[0] == pytest.approx(plugin_bias(small)[0] / 10)
