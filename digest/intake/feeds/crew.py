"""Many hosts at once, one request at a time per host, within a budget: the fetch workers.

`by_host` runs a network job for each item in up to DIGEST_FETCH_WORKERS threads. The
items of one host go out in order, one at a time, `delay` apart (DIGEST_FETCH_DELAY), so a
host never sees two of our requests at once (digest.intake.fetch also holds a lock per host,
for redirects that cross hosts); meanwhile the worker serves another host that is ready.
The hosts with the most items start first. Results come back to the calling thread as they
finish: the CPU work (feed parsing aside, page extraction) runs there, while the workers
keep fetching. Past the deadline (DIGEST_FETCH_BUDGET) no new job starts; the items left
come back as `UNREACHED`, so a run ends at most one timeout after its budget.
"""

from __future__ import annotations

import heapq
import itertools
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


class _Lines(Generic[T]):
    """Each host's items in a line; a worker takes the line whose host is ready soonest.

    A line goes back after each item with its host ready `delay` later, so a worker waits
    for no host while another one is ready (DIGEST_FETCH_DELAY costs the host, not the pool).
    """

    def __init__(self, lines: list[deque[T]], delay: float, clock: Clock) -> None:
        self.delay, self.clock = delay, clock
        self.order = itertools.count()  # ties go to the line queued first
        self.ready = [(0.0, -len(line), next(self.order), line) for line in lines]
        heapq.heapify(self.ready)
        self.open = len(lines)  # lines not finished: taken ones may come back
        self.turn = threading.Condition()

    def take(self) -> deque[T] | None:
        """The next line whose host is ready (waiting for it if need be); None: all done."""
        with self.turn:
            while True:
                if not self.ready:
                    if not self.open:
                        return None
                    self.turn.wait()
                    continue
                wait = self.ready[0][0] - self.clock()
                if wait <= 0:
                    return heapq.heappop(self.ready)[3]
                self.turn.wait(wait)

    def give_back(self, line: deque[T]) -> None:
        with self.turn:
            if line:
                when = self.clock() + self.delay
                heapq.heappush(self.ready, (when, -len(line), next(self.order), line))
            else:
                self.open -= 1
            self.turn.notify_all()


def by_host(
    items: Sequence[T],
    host_of: Callable[[T], str],
    job: Callable[[T], R],
    *,
    workers: int,
    deadline: float,
    delay: float = 0.0,
    clock: Clock = time.monotonic,
) -> Iterator[tuple[T, R | Unreached]]:
    """Each item with its job's result (or UNREACHED), in the order they finish."""
    by_name: dict[str, deque[T]] = {}
    for item in items:
        by_name.setdefault(host_of(item), deque()).append(item)
    lines = _Lines(sorted(by_name.values(), key=len, reverse=True), delay, clock)
    done: queue.SimpleQueue[tuple[T, R | Unreached | _Crashed[T]]] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while (line := lines.take()) is not None:
            late = stop.is_set() or clock() >= deadline
            while line and late:  # past the budget: the whole line waits for the next run
                done.put((line.popleft(), UNREACHED))
            if line:
                item = line.popleft()
                try:
                    done.put((item, job(item)))
                except BaseException as exc:  # noqa: BLE001 (handed to the calling thread)
                    done.put((item, _Crashed(exc)))
            lines.give_back(line)

    crew = [threading.Thread(target=work, daemon=True) for _ in range(min(workers, len(by_name)))]
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
