"""Choose and order the articles of one digest."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from digest.sources import Article
from digest.summarize import Summary

WORDS_PER_MINUTE = 230
MORE_LISTED = 100  # titles listed under "More stories"; the rest are only counted


@dataclass(frozen=True)
class Entry:
    """One full entry: the article and its summary."""

    article: Article
    summary: Summary
    reading_minutes: int


@dataclass(frozen=True)
class Digest:
    """Everything one email shows, handed unchanged to both templates."""

    created: datetime
    entries: tuple[Entry, ...]
    more: tuple[Article, ...] = ()  # listed by title under "More stories"
    unlisted: tuple[Article, ...] = ()  # only counted ("and 12 more")

    @property
    def article_ids(self) -> tuple[str, ...]:
        every = [e.article for e in self.entries] + list(self.more) + list(self.unlisted)
        return tuple(a.id for a in every)

    @property
    def article_count(self) -> int:
        return len(self.entries) + len(self.more) + len(self.unlisted)

    @property
    def sources(self) -> tuple[str, ...]:
        names = (e.article.source for e in self.entries if e.article.source)
        return tuple(dict.fromkeys(names))

    @property
    def is_empty(self) -> bool:
        return self.article_count == 0


def reading_minutes(article: Article) -> int:
    """Whole minutes to read the full article, at least one."""
    return max(1, math.ceil(article.word_count / WORDS_PER_MINUTE))


def sort_key(article: Article) -> tuple[datetime, str]:
    """Newest first: the publication date when known, else the file's time."""
    return (article.published or article.modified, article.id)


def choose(articles: Sequence[Article], max_articles: int) -> tuple[list[Article], list[Article]]:
    """Split the articles into full entries and the rest, newest first."""
    ordered = sorted(articles, key=sort_key, reverse=True)
    return ordered[:max_articles], ordered[max_articles:]


def compose(
    articles: Sequence[Article],
    summarize: Callable[[Article], Summary],
    *,
    max_articles: int,
    created: datetime,
) -> Digest:
    """Order the articles newest first; summarize only those shown in full."""
    full, rest = choose(articles, max_articles)
    entries = tuple(Entry(a, summarize(a), reading_minutes(a)) for a in full)
    return Digest(
        created=created,
        entries=entries,
        more=tuple(rest[:MORE_LISTED]),
        unlisted=tuple(rest[MORE_LISTED:]),
    )
