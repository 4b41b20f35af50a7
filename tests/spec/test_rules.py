from __future__ import annotations

import pytest

from mrsynth.errors import SpecError
from mrsynth.spec.load import load_spec


def problems(write_spec, data):
    with pytest.raises(SpecError) as info:
        load_spec(write_spec("x", {"name": "x", **data}))
    return "\n".join(info.value.problems)


def test_unpaired_dataset_needs_an_unpaired_loss(write_spec):
    unpaired = {"dataset": {"kind": "bids", "paired": False}}
    text = problems(write_spec, {"data": unpaired, "loss": {"l1": 10.0}})
    assert "loss.kind: an unpaired dataset (data.dataset.paired = false) needs an unpaired loss" in text
    assert '(got "paired")' in text
    for kind in ("nec", "cyclegan"):
        ok = load_spec(write_spec(kind, {"name": kind, "data": unpaired, "loss": {"kind": kind}}))
        assert ok.experiment.loss.kind == kind and not ok.experiment.data.dataset.paired


def test_a_loss_without_kind_is_paired_and_errors_name_its_fields(write_spec):
    assert load_spec(write_spec("p", {"name": "p", "loss": {"l1": 5.0}})).experiment.loss.kind == "paired"
    assert "loss.gdl: must be >= 0 (got -1)" in problems(write_spec, {"loss": {"gdl": -1}})
    assert "loss.ngf_eps: must be > 0 (got 0)" in problems(write_spec, {"loss": {"kind": "nec", "ngf_eps": 0}})
    assert "loss: unknown kind 'foo'" in problems(write_spec, {"loss": {"kind": "foo"}})


def test_masking_belongs_to_the_paired_loss(write_spec):
    text = problems(write_spec, {"loss": {"kind": "cyclegan"}, "masking": {"kind": "intersection"}})
    assert "masking.kind: masking applies to paired reconstruction losses; loss.kind 'cyclegan' has none" in text


def test_resnet_generator_needs_sides_divisible_by_four(write_spec):
    spec = {"model": {"generator": {"kind": "resnet", "n_blocks": 2}}, "data": {"slicing": {"size": [42, 64]}}}
    assert "data.slicing.size: each side must be divisible by 4" in problems(write_spec, spec)


def test_3d_patches_and_3d_generators_go_together(write_spec):
    fcn3d = {"generator": {"kind": "dilated_fcn", "dims": 3}, "discriminator": {"kind": "cnn"}}
    assert "model.generator.dims: a 3D generator needs data.patches" in problems(write_spec, {"model": fcn3d})
    text = problems(write_spec, {"data": {"patches": {"size": [16, 16, 16]}}})
    assert "model.generator.kind: 3D patches need a 3D generator" in text
    assert "model.discriminator.kind: 3D patches need a 3D discriminator" in text
    assert "data.patches.stride: " not in text
    assert "stride must not exceed" in problems(write_spec, {"data": {"patches": {"size": [16, 16, 16], "stride": 20}}})
    ok = load_spec(write_spec("ok3d", {"name": "ok3d", "model": fcn3d, "data": {"patches": {"size": [16, 16, 16]}}}))
    assert ok.experiment.data.patches.size == (16, 16, 16)


def test_provided_masks_need_a_mask_folder(write_spec):
    text = problems(write_spec, {"data": {"dataset": {"kind": "bids", "masks": None}, "preprocess": {"skull_strip": {"kind": "provided"}}}})
    assert "data.preprocess.skull_strip.kind: 'provided' needs masks" in text


def test_name_pattern(write_spec):
    assert "name: must match ^[a-z0-9][a-z0-9._-]*$" in problems(write_spec, {"name": "Bad Name"})


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("min_ncc", 1.7, "must be <= 1"), ("min_ncc", -1.5, "must be >= -1"), ("min_dice", 1.2, "must be <= 1"),
    ("min_mi", -0.1, "must be >= 0"), ("min_edge_corr", 2, "must be <= 1"), ("min_brain_fraction", -0.2, "must be >= 0"),
])
def test_qc_thresholds_lie_in_their_metric_range(write_spec, field, value, rule):
    assert f"data.qc.{field}: {rule}" in problems(write_spec, {"data": {"qc": {field: value}}})


def test_slice_size_fits_the_unet(write_spec):
    text = problems(write_spec, {"data": {"slicing": {"size": [60, 64]}}, "model": {"generator": {"kind": "unet", "depth": 3}}})
    assert ("data.slicing.size: each side must be divisible by 2**model.generator.depth = 8; pad to [64, 64] "
            "(slicing.size crops or pads), or model.generator.depth <= 2 keeps [60, 64] (got [60, 64])") in text


def test_slice_size_hint_names_sizes_and_depths_that_work(write_spec):
    """240x240 BraTS slices at depth 6: the message says 256 or depth <= 4, both of which validate."""
    spec = {"data": {"slicing": {"size": [240, 240]}}, "model": {"generator": {"kind": "unet", "depth": 6}}}
    assert "pad to [256, 256]" in problems(write_spec, spec) and "depth <= 4 keeps [240, 240]" in problems(write_spec, spec)
    for fixed in ({**spec, "data": {"slicing": {"size": [256, 256]}}}, {**spec, "model": {"generator": {"kind": "unet", "depth": 4}}}):
        load_spec(write_spec("x", {"name": "x", **fixed}))  # validates


def test_adversarial_needs_a_discriminator(write_spec):
    text = problems(write_spec, {"model": {"discriminator": {"kind": "none"}}, "loss": {"adversarial": 1.0}})
    assert "loss.adversarial: an adversarial loss needs a discriminator" in text


def test_split_fractions_sum_to_one(write_spec):
    assert "train + val + test must be 1" in problems(write_spec, {"data": {"split": {"train": 0.5, "val": 0.1, "test": 0.1}}})


SPACE_OK = {"data.qc.min_ncc": {"kind": "float", "low": 0.0, "high": 0.5},
            "loss.l1": {"kind": "float", "low": 1.0, "high": 100.0, "log": True},
            "data.qc.max_abs_offset": {"kind": "int", "low": 0, "high": 1},
            "masking.kind": {"kind": "categorical", "choices": ["none", "intersection"]}}


def test_valid_search_space(write_spec):
    spec = load_spec(write_spec("s", {"name": "s", "search": {"space": SPACE_OK}}))
    assert set(spec.experiment.search.space) == set(SPACE_OK)


@pytest.mark.parametrize(("path", "dist", "expect"), [
    ("data.qc.nope", {"kind": "float", "low": 0, "high": 1}, "must name a searchable field"),
    ("name", {"kind": "categorical", "choices": ["a"]}, "must name a searchable field"),
    ("data.qc", {"kind": "float", "low": 0, "high": 1}, "not a section"),
    ("data.qc.min_ncc", {"kind": "float", "low": 0.0, "high": 1.5}, "does not fit the field: data.qc.min_ncc=1.5 gives data.qc.min_ncc: must be <= 1"),
    ("train.epochs", {"kind": "float", "low": 1, "high": 3}, "is an integer field"),
    ("masking.kind", {"kind": "categorical", "choices": ["none", "everywhere"]}, "masking.kind='everywhere' gives masking.kind: must be one of"),
    ("masking.kind", {"kind": "float", "low": 0, "high": 1}, "needs a numeric field"),
])
def test_search_paths_must_fit_their_field(write_spec, path, dist, expect):
    text = problems(write_spec, {"search": {"space": {path: dist}}})
    assert f"search.space.{path}" in text and expect in text


def test_search_distribution_bounds(write_spec):
    assert "low must be <= high" in problems(write_spec, {"search": {"space": {"loss.l1": {"kind": "float", "low": 5, "high": 1}}}})
    assert "log needs low > 0" in problems(write_spec, {"search": {"space": {"loss.l1": {"kind": "float", "low": 0, "high": 1, "log": True}}}})


def test_mae_objective_must_be_minimised(write_spec):
    text = problems(write_spec, {"search": {"space": SPACE_OK, "objective": "val/mae_brain", "direction": "maximize"}})
    assert "search.direction" in text


def test_search_over_a_kind_field(write_spec):
    space = {"model.discriminator.kind": {"kind": "categorical", "choices": ["patchgan", "none"]}}
    problems_text = problems(write_spec, {"search": {"space": space}})
    # 'none' with the default adversarial weight is an invalid combination, reported as such (not as unknown keys)
    assert "model.discriminator.kind='none' gives loss.adversarial: an adversarial loss needs a discriminator" in problems_text
    ok = {"model.discriminator.kind": {"kind": "categorical", "choices": ["patchgan", "none"]}}
    spec = load_spec(write_spec("k", {"name": "k", "loss": {"adversarial": 0.0}, "search": {"space": ok}}))
    assert spec.experiment.search is not None
