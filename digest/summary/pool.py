"""Run a function over many items in a process pool, when there are enough to pay for it.

The results are the same, in the same order, as with one process (DIGEST_WORKERS=1).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:  # multiprocessing is imported when a pool starts: most runs need none
    from multiprocessing.context import BaseContext

POOL_MIN_ITEMS = 8  # below this, starting processes costs more than it saves
MAX_CHUNK = 32  # items handed to a worker at once; small enough to keep both cores busy

T = TypeVar("T")
R = TypeVar("R")


class Tracker(Protocol):
    """What shows progress over a list (the CLI's progress bar)."""

    def __call__(self, items: Sequence[T], label: str) -> Iterable[T]: ...


def no_progress(items: Sequence[T], label: str) -> Iterable[T]:
    return items


def pool_map(
    fn: Callable[[T], R], items: Sequence[T], workers: int, min_items: int = POOL_MIN_ITEMS
) -> Iterator[R]:
    """`fn` over `items`, in order; in `workers` processes when there are `min_items` or more.

    `fn` must be picklable: a module-level function, or a `partial` of one.
    """
    if workers <= 1 or len(items) < min_items:
        return map(fn, items)
    return _pooled(fn, items, min(workers, len(items)))


def _pooled(fn: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[R]:
    from concurrent.futures import ProcessPoolExecutor

    chunksize = max(1, min(MAX_CHUNK, len(items) // (workers * 8)))
    pool = ProcessPoolExecutor(workers, mp_context=_context(), initializer=_worker_start)
    try:
        yield from pool.map(fn, items, chunksize=chunksize)
    finally:
        # On Ctrl-C or an error: drop the chunks not started, let the running ones end.
        pool.shutdown(wait=True, cancel_futures=True)


def _context() -> BaseContext:
    # fork starts workers with everything the parent already loaded (sumy, numpy, the
    # sentence models): no second start-up per worker. It is only safe while the parent
    # runs a single thread; otherwise workers start from scratch.
    import multiprocessing

    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _worker_start() -> None:
    # Ctrl-C reaches the whole process group: the parent alone decides what to do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
