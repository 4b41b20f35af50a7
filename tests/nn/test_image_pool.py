from __future__ import annotations

import pytest
import torch

from mrsynth.nn import ImagePool


def _batches(count: int, batch: int = 4) -> list[torch.Tensor]:
    """Batches of (batch, 1, 2, 2) images whose every pixel holds a unique id, so images can be traced."""
    ids = torch.arange(count * batch, dtype=torch.float32)
    return list(ids.view(count, batch, 1, 1, 1).expand(-1, -1, 1, 2, 2).clone())


def _ids(images: torch.Tensor) -> list[int]:
    return [int(image.flatten()[0]) for image in images]


def test_fills_then_returns_inputs_unchanged():
    pool = ImagePool(size=6, generator=torch.Generator().manual_seed(0))
    first, second = _batches(2)
    assert torch.equal(pool.query(first), first)
    assert len(pool) == 4
    out = pool.query(second)
    # two slots left: the first two images go in as they are; the last two may be swapped
    assert _ids(out)[:2] == _ids(second)[:2] and len(pool) == 6


def test_full_pool_swaps_about_half_and_conserves_images():
    pool = ImagePool(size=8, generator=torch.Generator().manual_seed(0))
    batches = _batches(101)
    pool.query(batches[0])
    pool.query(batches[1])  # the pool is full after these eight images
    swapped = 0
    for batch in batches[2:]:
        before = set(_ids(torch.stack(pool.images)))
        out = pool.query(batch)
        after = set(_ids(torch.stack(pool.images)))
        # nothing is lost or invented: what went in and what was stored is what came out or stays stored
        assert sorted(before | set(_ids(batch))) == sorted(after | set(_ids(out)))
        swapped += sum(o != i for o, i in zip(_ids(out), _ids(batch), strict=True))
    fraction = swapped / (99 * 4)
    assert 0.4 < fraction < 0.6  # 396 fair coin flips: 0.5 +- 0.025 (one standard deviation)


def test_same_seed_same_answers_other_seed_differs():
    def run(seed: int) -> list[int]:
        pool = ImagePool(size=4, generator=torch.Generator().manual_seed(seed))
        return [i for batch in _batches(20) for i in _ids(pool.query(batch))]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_global_rng_is_used_without_generator():
    def run() -> list[int]:
        torch.manual_seed(7)
        pool = ImagePool(size=4)
        return [i for batch in _batches(10) for i in _ids(pool.query(batch))]

    assert run() == run()


def test_stores_detached_copies():
    pool = ImagePool(size=2, swap_probability=1.0, generator=torch.Generator().manual_seed(0))
    fake = torch.ones(2, 1, 2, 2, requires_grad=True) * 1.0
    out = pool.query(fake)
    assert not out.requires_grad
    fake.data.fill_(9.0)  # a later in-place update of the generator's output
    returned = pool.query(torch.zeros(2, 1, 2, 2))
    stored = torch.stack(pool.images)
    # swap_probability 1: the first answer is always a stored original, and it is unchanged
    assert torch.all(returned[0] == 1.0)
    assert not torch.any(returned == 9.0) and not torch.any(stored == 9.0)


def test_size_zero_passes_through():
    pool = ImagePool(size=0)
    batch = _batches(1)[0]
    assert torch.equal(pool.query(batch), batch) and len(pool) == 0


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="size"):
        ImagePool(size=-1)
    with pytest.raises(ValueError, match="swap_probability"):
        ImagePool(swap_probability=1.5)
