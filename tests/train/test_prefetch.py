"""The background prefetcher: the same items in the same order, a few ahead at most, errors where they belong."""

from __future__ import annotations

import threading
import time

import pytest

from mrsynth.train.prefetch import DEPTH, Prefetched


class Counted:
    """An iterator that records how many items it has made."""

    def __init__(self, n: int, fail_at: int | None = None):
        self.n, self.fail_at, self.made = n, fail_at, 0

    def __iter__(self):
        for i in range(self.n):
            if i == self.fail_at:
                raise RuntimeError(f"item {i} is unreadable")
            self.made += 1
            yield i


def settle(source: Counted, want: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while source.made < want and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # room for one more, if the bound were wrong


def test_yields_every_item_in_order_then_stops():
    assert list(Prefetched(iter(Counted(50)))) == list(range(50))
    done = Prefetched(iter([]))
    assert list(done) == [] and list(done) == []


def test_makes_at_most_a_few_items_ahead_of_the_consumer():
    source = Counted(100)
    items = Prefetched(iter(source))
    settle(source, DEPTH + 1)
    assert source.made == DEPTH + 1  # DEPTH queued, one made and waiting for room
    assert [next(items) for _ in range(5)] == list(range(5))
    settle(source, 5 + DEPTH + 1)
    assert source.made == 5 + DEPTH + 1
    items.close()


def test_an_error_while_making_an_item_is_raised_by_next_after_the_good_items():
    items = Prefetched(iter(Counted(10, fail_at=3)))
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(RuntimeError, match="item 3 is unreadable"):
        next(items)
    with pytest.raises(StopIteration):
        next(items)


def test_an_abandoned_iterator_stops_its_thread():
    items = Prefetched(iter(Counted(1000)))
    next(items)
    (thread,) = [t for t in threading.enumerate() if t is items._thread]
    del items  # the consumer stops mid-epoch (an exception in the step)
    thread.join(timeout=5)
    assert not thread.is_alive()
