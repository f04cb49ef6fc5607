"""Work on many articles at once: in a process pool when there is enough of it.

A digest summarizes only the entries it shows in full, and each of those once:
summaries are kept in the state database by (article id, method, sentence
count, code version), so building the same digest again (a retry, a preview
then the run) reuses them. What is left to do, reading thousands of new files
or summarizing the entries, is spread over DIGEST_WORKERS processes when there
are enough items to pay for starting them; the results are the same, in the
same order, as with one process.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import chain
from typing import TYPE_CHECKING, Protocol, TypeVar

import digest
from digest import sources
from digest.errors import SourceError, StateError
from digest.sources import Article, FileVersion
from digest.summarize import Summarizer, Summary

if TYPE_CHECKING:  # multiprocessing is imported when a pool starts: most runs need none
    from multiprocessing.context import BaseContext

    from digest.store import Store

CACHE_VERSION = 1  # bump when summaries change without a new digest.__version__
POOL_MIN_ITEMS = 8  # below this, starting processes costs more than it saves
POOL_MIN_FILES = 64  # reading a file takes about a millisecond: only many are worth a pool
MAX_CHUNK = 32  # items handed to a worker at once; small enough to keep both cores busy

T = TypeVar("T")
R = TypeVar("R")


class Tracker(Protocol):
    """What shows progress over a list (the CLI's progress bar)."""

    def __call__(self, items: Sequence[T], label: str) -> Iterable[T]: ...


def no_progress(items: Sequence[T], label: str) -> Iterable[T]:
    return items


def code_version() -> str:
    """The summary code's version: a cached summary from another version is not used."""
    return f"{digest.__version__}+{CACHE_VERSION}"


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


# --- reading ---------------------------------------------------------------------------------


def read_all(
    infos: Sequence[FileVersion], *, max_bytes: int, workers: int, track: Tracker = no_progress
) -> Iterator[tuple[FileVersion, Article | str]]:
    """Each file with its article, or the reason it cannot be used, in the order given."""
    results = pool_map(partial(_read_one, max_bytes), infos, workers, POOL_MIN_FILES)
    return zip(track(infos, "Reading articles"), results, strict=True)


def _read_one(max_bytes: int, info: FileVersion) -> Article | str:
    # The reason, not the SourceError: an exception with extra arguments does not unpickle.
    try:
        return sources.read_article(info, max_bytes=max_bytes)
    except SourceError as exc:
        return exc.reason


# --- summarizing -----------------------------------------------------------------------------


def summarize_all(
    articles: Sequence[Article],
    count: int,
    *,
    summarizer: Summarizer,
    workers: int = 1,
    cache: Store | None = None,
    track: Tracker = no_progress,
) -> dict[str, Summary]:
    """Each article's summary by id: taken from `cache` when made before, else made and kept."""
    # A forced language (DIGEST_LANGUAGE) makes other summaries: it is part of the key.
    forced = getattr(summarizer, "language", None)
    method = f"{summarizer.method}:{forced}" if forced else summarizer.method
    version = code_version()
    unique = list({a.id: a for a in articles}.values())
    done = cache.cached_summaries([a.id for a in unique], method, count, version) if cache else {}
    todo = [a for a in unique if a.id not in done]
    made = dict(
        zip([a.id for a in todo], _summarize(todo, count, summarizer, workers, track), strict=True)
    )
    if cache is not None and made:
        try:
            cache.save_summaries(made, method, count, version)
        except StateError:
            pass  # only a cache: the digest goes out all the same, and is summarized next time
    return done | made


def _summarize(
    todo: Sequence[Article], count: int, engine: Summarizer, workers: int, track: Tracker
) -> list[Summary]:
    # A subclass (a test's fake) may not survive pickling: it stays in this process.
    if type(engine) is not Summarizer or workers <= 1 or len(todo) < POOL_MIN_ITEMS:
        return [engine.summarize(a, count) for a in track(todo, "Summarizing")]
    # The first one here: it loads sumy and the sentence model once, before the fork.
    first = engine.summarize(todo[0], count)
    rest = pool_map(partial(_summarize_one, engine, count), todo[1:], workers)
    return [s for _, s in zip(track(todo, "Summarizing"), chain([first], rest), strict=True)]


def _summarize_one(engine: Summarizer, count: int, article: Article) -> Summary:
    return engine.summarize(article, count)
