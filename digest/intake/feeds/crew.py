"""Many hosts at once, one request at a time per host, within a budget: the fetch workers.

`by_host` runs a network job for each item in up to DIGEST_FETCH_WORKERS threads. The
items of one host go to one worker, in order, so a host never sees two of our requests at
once (digest.intake.fetch also holds a lock per host, for redirects that cross hosts). The
hosts with the most items start first. Results come back to the calling thread as they
finish: the CPU work (feed parsing aside, page extraction) runs there, while the workers
keep fetching. Past the deadline (DIGEST_FETCH_BUDGET) no new job starts; the items left
come back as `UNREACHED`, so a run ends at most one timeout after its budget.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Final, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
Clock = Callable[[], float]


class Unreached:
    """The budget ran out before this item's turn: it waits for the next run."""

    def __repr__(self) -> str:
        return "UNREACHED"


UNREACHED: Final = Unreached()


class _Crashed(Generic[T]):
    """A job raised something it should not have: raised again in the calling thread."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def by_host(
    items: Sequence[T],
    host_of: Callable[[T], str],
    job: Callable[[T], R],
    *,
    workers: int,
    deadline: float,
    clock: Clock = time.monotonic,
) -> Iterator[tuple[T, R | Unreached]]:
    """Each item with its job's result (or UNREACHED), in the order they finish."""
    lines: dict[str, deque[T]] = {}
    for item in items:
        lines.setdefault(host_of(item), deque()).append(item)
    todo: queue.SimpleQueue[deque[T]] = queue.SimpleQueue()
    for line in sorted(lines.values(), key=len, reverse=True):
        todo.put(line)
    done: queue.SimpleQueue[tuple[T, R | Unreached | _Crashed[T]]] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while True:
            try:
                line = todo.get_nowait()
            except queue.Empty:
                return
            for item in line:
                if stop.is_set() or clock() >= deadline:
                    done.put((item, UNREACHED))
                    continue
                try:
                    done.put((item, job(item)))
                except BaseException as exc:  # noqa: BLE001 (handed to the calling thread)
                    done.put((item, _Crashed(exc)))

    crew = [threading.Thread(target=work, daemon=True) for _ in range(min(workers, len(lines)))]
    for thread in crew:
        thread.start()
    try:
        for _ in range(len(items)):
            item, result = done.get()
            if isinstance(result, _Crashed):
                raise result.error  # a bug: as it would have been without threads
            yield item, result
    finally:
        stop.set()  # an early exit: the workers start nothing new
        for thread in crew:
            thread.join()
