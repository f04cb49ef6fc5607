"""Summaries of the articles a digest shows, made once: kept in the state database.

`summarize_files` is `digest summarize`: files read and summarized, nothing sent.

Summaries are kept by (article id, method, sentence count, code version), so
building the same digest again (a retry, a preview then the run) reuses them.
What is left to summarize is spread over DIGEST_WORKERS processes when there
are enough articles to pay for starting them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import digest
from digest.errors import SourceError, StateError
from digest.records import Article, Skipped, Summary
from digest.settings import Settings
from digest.summary.pool import POOL_MIN_ITEMS, Tracker, no_progress, pool_map
from digest.summary.summarizer import Summarizer

if TYPE_CHECKING:
    from digest.records import Reporter
    from digest.store import Store

CACHE_VERSION = 1  # bump when summaries change without a new digest.__version__


def code_version() -> str:
    """The summary code's version: a cached summary from another version is not used."""
    return f"{digest.__version__}+{CACHE_VERSION}"


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


@dataclass(frozen=True)
class Summarized:
    """`digest summarize`'s answer: each article read with its summary, and the files skipped."""

    summaries: list[tuple[Article, Summary]]  # in the order the files were named
    skipped: list[Skipped]  # files that cannot be used, in the order found


def summarize_files(
    settings: Settings,
    paths: Sequence[Path],
    *,
    count: int | None = None,
    reporter: Reporter | None = None,
) -> Summarized:
    """Read and summarize these files; sends and records nothing but summaries in the cache."""
    from digest.intake import files as sources
    from digest.intake import scan
    from digest.records import Reporter

    rep = reporter or Reporter()
    infos, skipped = [], []
    for path in paths:
        try:
            infos.append(sources.file_info(path))
        except SourceError as exc:
            skipped.append(Skipped(Path(exc.path), exc.reason))
    read: list[Article] = []
    found = scan.read_all(
        infos, max_bytes=settings.max_file_bytes, workers=settings.workers, track=rep.track
    )
    for info, got in found:
        if isinstance(got, str):
            skipped.append(Skipped(Path(info.path), got))
        else:
            read.append(got)
    made = _summaries_cached(settings, read, count or settings.sentences, rep)
    return Summarized([(a, made[a.id]) for a in read], skipped)


def _summaries_cached(
    settings: Settings, articles: Sequence[Article], count: int, rep: Reporter
) -> dict[str, Summary]:
    from digest.store import Store  # late: the store brings in the summarizer

    engine = Summarizer(settings.summarizer, settings.language)
    cache = Store.open_existing(settings.state_dir)
    try:
        return summarize_all(
            articles,
            count,
            summarizer=engine,
            workers=settings.workers,
            cache=cache,
            track=rep.track,
        )
    finally:
        if cache is not None:
            cache.close()
