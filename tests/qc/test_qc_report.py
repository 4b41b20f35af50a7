"""Figures and report folders: valid PNGs of a fixed size, worst slices first, an index that shows them."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from PIL import Image

from mrsynth.qc.figures import FIGURE_DPI, FIGURE_SIZE_INCHES, slice_figure
from mrsynth.qc.report import worst_flagged, write_report
from mrsynth.spec.qc_columns import QC_METRICS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXPECTED_SIZE = (round(FIGURE_SIZE_INCHES[0] * FIGURE_DPI), round(FIGURE_SIZE_INCHES[1] * FIGURE_DPI))


def test_expected_size_is_1500_by_360():
    assert EXPECTED_SIZE == (1500, 360)


def test_slice_figure_writes_a_png_of_the_fixed_size(tmp_path):
    rng = np.random.default_rng(0)
    source = rng.normal(size=(40, 32))
    mask = np.zeros((40, 32), bool)
    mask[5:35, 4:28] = True
    row = {"slice": 7, "dice": 0.9, "ncc": 0.5, "mi": 0.25, "reasons": "ncc<0.6", "subject": "sub-01"}
    path = slice_figure(source, -source, mask, row, tmp_path / "deep" / "fig.png")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        assert image.size == EXPECTED_SIZE
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 10  # something was drawn


def test_slice_figure_handles_an_empty_mask_and_a_constant_slice(tmp_path):
    path = slice_figure(np.zeros((16, 16)), np.ones((16, 16)), np.zeros((16, 16), bool), {"slice": 0}, tmp_path / "f.png")
    with Image.open(path) as image:
        assert image.size == EXPECTED_SIZE


def flagged_table() -> pd.DataFrame:
    return pd.DataFrame({
        "subject": ["a", "a", "a", "b", "b"],
        "slice": [2, 3, 4, 1, 5],
        "mi": [0.3, 0.01, 0.2, 0.02, 0.5],
        "flagged": [False, True, True, True, True],
        "reasons": ["", "mi<0.05", "offset", "mi<0.05;dice<0.8", "offset"],
    })


def test_worst_flagged_orders_by_number_of_reasons_then_lowest_mi():
    worst = worst_flagged(flagged_table(), 3)
    assert list(zip(worst["subject"], worst["slice"], strict=True)) == [("b", 1), ("a", 3), ("a", 4)]


def test_write_report_writes_tables_figures_and_an_index(tmp_path):
    rng = np.random.default_rng(1)
    volumes = {s: (rng.normal(size=(12, 12, 8)), rng.normal(size=(12, 12, 8)), np.ones((12, 12, 8), bool)) for s in "ab"}
    calls = []

    def lookup(subject):
        calls.append(subject)
        return volumes[subject]

    index = write_report(flagged_table(), tmp_path / "qc", lookup, worst_n=3)
    folder = tmp_path / "qc"
    assert index == folder / "index.html"
    assert sorted(calls) == ["a", "b"]  # each subject loaded once
    figures = sorted(p.name for p in (folder / "figures").iterdir())
    assert figures == ["a_slice003.png", "a_slice004.png", "b_slice001.png"]
    for name in figures:
        assert (folder / "figures" / name).read_bytes()[:8] == PNG_SIGNATURE
    html = index.read_text()
    assert all(f'src="figures/{name}"' in html for name in figures)
    assert "4 of 5 slice pairs flagged" in html
    summary = pd.read_csv(folder / "summary.csv")
    assert summary.set_index("subject").loc["(all)", "flagged"] == 4
    assert pd.read_csv(folder / "qc.csv", keep_default_na=False)["reasons"].tolist() == flagged_table()["reasons"].tolist()


def test_report_without_flagged_slices_says_so(tmp_path):
    table = flagged_table().assign(flagged=False, reasons="")
    index = write_report(table, tmp_path, lambda subject: (_ for _ in ()).throw(AssertionError("no lookup")))
    assert "No flagged slices." in index.read_text()
    assert not (tmp_path / "figures").exists()


def test_report_index_explains_every_metric_column_from_the_table(tmp_path):
    table = flagged_table().assign(flagged=False, reasons="")
    text = write_report(table, tmp_path, lambda subject: None).read_text()
    legend = text[text.index("<h2>Metrics</h2>"):]
    for metric in QC_METRICS:
        assert f"<th>{metric.column}</th><td>{metric.threshold or ''}</td>" in legend
        assert html.escape(metric.description) in legend


def test_sobel_magnitude_is_scikit_images_up_to_a_constant():
    from skimage.filters import sobel

    from mrsynth.qc.figures import sobel_magnitude

    image = np.random.default_rng(2).normal(size=(24, 17))
    ours, theirs = sobel_magnitude(image), sobel(image)
    np.testing.assert_allclose(ours / ours.max(), theirs / theirs.max(), rtol=1e-9, atol=1e-12)


def test_write_report_without_figures_draws_none_and_says_so(tmp_path):
    def lookup(subject):
        raise AssertionError("volumes are not needed without figures")

    index = write_report(flagged_table(), tmp_path / "qc", lookup, figures=False)
    assert not (tmp_path / "qc" / "figures").exists()
    assert "Figures not drawn" in index.read_text() and (tmp_path / "qc" / "qc.csv").is_file()
