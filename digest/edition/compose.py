"""Choose and order the articles of one digest."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from digest.records import Article, Summary

if TYPE_CHECKING:  # the stories code (numpy) loads when a digest is planned, not for its pages
    from digest.stories import Arrangement, Sketch, Story

WORDS_PER_MINUTE = 230
MORE_LISTED = 100  # titles listed under "More stories"; the rest are only counted


@dataclass(frozen=True)
class Entry:
    """One full entry: the article and its summary."""

    article: Article
    summary: Summary
    reading_minutes: int
    also: tuple[Article, ...] = ()  # other copies and reports of the story ("Also reported by")
    updated: bool = False  # a story sent before, back with substantial new text
    section: str | None = None  # the digest's section it is shown in (set by `compose`)
    rank: float = 0.0  # higher is better (stories.rank_of)


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

    @property
    def sections(self) -> tuple[tuple[str, tuple[Entry, ...]], ...]:
        """(name, entries) in reading order; entries without a section (None) are left out."""
        found: dict[str, list[Entry]] = {}
        for entry in self.entries:
            if entry.section is not None:
                found.setdefault(entry.section, []).append(entry)
        return tuple((name, tuple(entries)) for name, entries in found.items())


def reading_minutes(article: Article) -> int:
    """Whole minutes to read the full article, at least one; 0 for a headline without text."""
    if not article.paragraphs:
        return 0
    return max(1, math.ceil(article.word_count / WORDS_PER_MINUTE))


def sort_key(article: Article) -> tuple[datetime, str]:
    """Newest first: the publication date when known, else the file's time."""
    return (article.published or article.modified, article.id)


@dataclass(frozen=True)
class Plan:
    """Which stories a digest shows in full and which by title, and every article's sketch."""

    shown: list[Story]  # the `max_articles` best ranked, in reading order (by section)
    rest: list[Story]  # the others, by rank
    sketches: Mapping[str, Sketch]  # article id -> its sketch, for every article planned

    @property
    def leads(self) -> list[Article]:
        """The articles whose summaries the digest shows."""
        return [story.lead for story in self.shown]


class Arrangements:
    """One run's stories, arranged once for each set of articles and what was sent lately.

    Readers with the same sections get the same articles, whatever their `max`: their
    editions share one arrangement (a run for fifty preference sets arranged its
    articles fifty times).
    """

    def __init__(self) -> None:
        self._known: dict[tuple[tuple[Article, ...], datetime, tuple[Sketch, ...]], Arrangement]
        self._known = {}

    def arrange(
        self, articles: Sequence[Article], *, now: datetime, sent: Sequence[Sketch]
    ) -> Arrangement:
        """`stories.arrange` of these, made the first time they are asked for."""
        key = (tuple(articles), now, tuple(sent))
        found = self._known.get(key)
        if found is None:
            from digest import stories

            found = self._known[key] = stories.arrange(articles, now=now, sent=sent)
        return found


def plan(
    articles: Sequence[Article],
    max_articles: int,
    *,
    now: datetime | None = None,
    sent: Sequence[Sketch] = (),
    arrangements: Arrangements | None = None,
) -> Plan:
    """One story per event (copies merged, copies of sent articles dropped), best first.

    The `max_articles` best ranked are shown in full, in reading order (by section);
    the rest are listed by rank. `now` defaults to the newest article's time. A run
    hands its `arrangements` so that editions of the same articles arrange them once.
    """
    if not articles:
        return Plan([], [], {})
    from digest import stories

    moment = now or max(sort_key(a)[0] for a in articles)
    known = arrangements or Arrangements()
    arranged = known.arrange(articles, now=moment, sent=sent)
    ranked = arranged.stories
    return Plan(stories.by_section(ranked[:max_articles]), ranked[max_articles:], arranged.sketches)


def compose(plan: Plan, summaries: Mapping[str, Summary], *, created: datetime) -> Digest:
    """One entry per story shown in full, with its lead's summary (by article id), in sections."""
    entries = tuple(
        Entry(
            s.lead,
            summaries[s.lead.id],
            reading_minutes(s.lead),
            also=s.also,
            updated=s.updated,
            section=s.section,
            rank=s.rank,
        )
        for s in plan.shown
    )
    listed = [s.lead for s in plan.rest]
    return Digest(
        created=created,
        entries=entries,
        more=tuple(listed[:MORE_LISTED]),
        unlisted=tuple(listed[MORE_LISTED:]),
    )


def demote(digest: Digest, n: int) -> Digest:
    """Show the `n` lowest-ranked full entries (the last among equals) by title only.

    They go, best first, ahead of the titles already listed under "More stories",
    which stay within MORE_LISTED: titles pushed past it are only counted.
    """
    if n <= 0:
        return digest
    by_rank = sorted(range(len(digest.entries)), key=lambda i: (-digest.entries[i].rank, i))
    dropped = set(by_rank[max(0, len(digest.entries) - n) :])
    kept = tuple(e for i, e in enumerate(digest.entries) if i not in dropped)
    listed = tuple(digest.entries[i].article for i in sorted(dropped, key=by_rank.index))
    listed += digest.more
    return replace(
        digest,
        entries=kept,
        more=listed[:MORE_LISTED],
        unlisted=listed[MORE_LISTED:] + digest.unlisted,
    )


def unlist(digest: Digest, n: int) -> Digest:
    """Only count the last `n` titles of "More stories" ("and 12 more")."""
    if n <= 0:
        return digest
    keep = max(0, len(digest.more) - n)
    return replace(digest, more=digest.more[:keep], unlisted=digest.more[keep:] + digest.unlisted)


def unabridged(digest: Digest) -> Digest:
    """Every article listed, none only counted: for the archive, which no inbox clips."""
    return replace(digest, more=digest.more + digest.unlisted, unlisted=())
