"""The record types every stage hands on: plain values, no logic, nothing imported but stdlib.

Any module can import these without loading another stage: the store keeps articles,
summaries and readers without the file readers or the summarizer, and the web pages
show a reader's preferences without numpy, sumy or the stories code.

    FileVersion -> Article (intake) -> Summary (summary) -> QueuedDigest (store, delivery)
    Subscriber with Preferences, Arrival (readers)       Clock, Reporter (every run)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, TypeVar

T = TypeVar("T")

# --- intake: files and articles ----------------------------------------------------------------


class FileVersion(NamedTuple):
    """One version of a file as listed, before it is read: a file's identity for every stage.

    A tuple, so it equals the (path, size, mtime_ns, inode) row the store keeps; the path
    is text, as the listing found it (no `Path` per file: 100,000 of them cost seconds).
    """

    path: str
    size: int
    mtime_ns: int
    inode: int

    # A listing's repr is hashed into the "nothing changed" key (scan): the tuple's own
    # repr keeps that key what it was before this type existed (and costs about the same).
    def __repr__(self) -> str:
        return tuple.__repr__(self)


@dataclass(frozen=True)
class Skipped:
    """A file that will not be in the digest, and why (one line for the operator)."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Article:
    """One article, cleaned of page chrome; `id` is stable across file names."""

    id: str
    path: Path
    title: str
    paragraphs: tuple[str, ...]
    modified: datetime
    section: str | None = None
    source: str | None = None
    url: str | None = None
    published: datetime | None = None
    language: str | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def word_count(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


# --- summary -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """The chosen sentences of one article, in article order."""

    sentences: tuple[str, ...]
    language: str
    method: str


# --- readers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    """What one reader wants: cadence, time, zone and the article filters."""

    every: str = "daily"  # daily | weekly
    day: str | None = None  # mon..sun, weekly only (default mon)
    at: str | None = None  # HH:MM; None: DIGEST_SCHEDULE
    timezone: str | None = None  # IANA name; None: DIGEST_TIMEZONE
    sections: tuple[str, ...] = ()  # empty: every section
    include: tuple[str, ...] = ()  # words or phrases; empty: every article
    exclude: tuple[str, ...] = ()
    max_articles: int | None = None  # full entries; None: DIGEST_MAX_ARTICLES


@dataclass(frozen=True)
class Subscriber:
    """One reader as the store keeps them."""

    id: int
    email: str
    name: str | None
    status: str  # active | paused | unsubscribed | bouncing
    prefs: Preferences
    joined: datetime
    last_sent: datetime | None = None
    key: str = ""  # in each of their tokens (digest.readers.tokens)
    consent: Consent | None = None  # how they signed up themselves, if they did


@dataclass(frozen=True)
class Consent:
    """The record of a double opt-in: when they confirmed, from where, with which form."""

    at: str  # ISO moment, UTC
    client: str  # client address
    agent: str  # user agent
    form: str  # the form wording's version


@dataclass(frozen=True)
class Arrival:
    """An article as first read, with its place in the arrival sequence."""

    seq: int
    article: Article
    arrived: datetime
    signature: bytes
    size: int


# --- the queue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuedDigest:
    """A saved message that some recipients still wait for."""

    id: int
    created: datetime
    subject: str
    eml_path: Path
    pending: tuple[str, ...]


# --- every run: the clock and the reporter -----------------------------------------------------

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock; tests hand a fixed one wherever a `Clock` is taken."""
    return datetime.now(UTC)


class Reporter:
    """Where a run tells the operator what it does; the CLI swaps in a progress bar."""

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self._echo = echo or (lambda line: print(line, file=sys.stderr))

    def say(self, line: str) -> None:
        self._echo(line)

    def track(self, items: Sequence[T], label: str) -> Iterable[T]:
        return items
