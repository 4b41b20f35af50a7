"""Batches made ahead in a background thread, so reading them from the cache overlaps the training step.

A thread, not DataLoader worker processes: the batch plan is already a pure function of (seed, epoch)
and reading rows, copying and flipping release the GIL, so one thread keeps up without a process per
worker and without the RNG state of workers to think about (the step's RNG is never touched here).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
DEPTH = 2  # finished batches waiting; with the one being made and the one training, at most 4 exist
_ITEM, _END, _ERROR = "item", "end", "error"
_POLL_SECONDS = 0.1  # how soon a blocked producer notices the consumer has gone


class Prefetched(Generic[T]):
    """The items of `items`, in order, made in a daemon thread at most `depth` ahead of the consumer.

    An error raised while making an item is raised by `next()` in the consumer's thread. Dropping or
    `close()`-ing the iterator before the end stops the thread at its next item."""

    def __init__(self, items: Iterator[T], depth: int = DEPTH):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        # the thread gets the queue and the flag, never `self`: an abandoned iterator can still be collected
        self._thread = threading.Thread(target=_produce, args=(iter(items), self._queue, self._stop),
                                        name="mrsynth-prefetch", daemon=True)
        self._thread.start()

    def __iter__(self) -> Prefetched[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        kind, item = self._queue.get()
        if kind == _ITEM:
            return item
        self._done = True
        self._thread.join()
        if kind == _ERROR:
            raise item
        raise StopIteration

    def close(self) -> None:
        self._done = True
        self._stop.set()

    def __del__(self) -> None:
        self._stop.set()


def _produce(items: Iterator, out: queue.Queue, stop: threading.Event) -> None:
    try:
        for item in items:
            if not _put(out, stop, (_ITEM, item)):
                return
        _put(out, stop, (_END, None))
    except BaseException as exc:  # handed to the consumer, who raises it where it would have been raised
        _put(out, stop, (_ERROR, exc))


def _put(out: queue.Queue, stop: threading.Event, message: tuple) -> bool:
    """Wait for room in the queue; False when the consumer has gone."""
    while not stop.is_set():
        try:
            out.put(message, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False
