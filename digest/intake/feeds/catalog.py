"""The feeds a digest polls: add, remove, list, import and export OPML (state in the store)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from digest.errors import FeedError, UsageError
from digest.intake.feeds.discover import Found, discover
from digest.intake.feeds.pages import canonical_url
from digest.intake.feeds.parse import Subscription, read_outlines, write_opml
from digest.settings import Settings
from digest.store import FeedRow, Store
from digest.text import is_web_url

if TYPE_CHECKING:
    from digest.intake.fetch import Fetcher


@dataclass(frozen=True)
class Added:
    """One URL given to `feeds add`: added now, or polled already; what was found there."""

    url: str
    added: bool
    found: Found | None = None

    def line(self) -> str:
        """What `feeds add` says: `added: Title — 25 entries`, and where the feed was found."""
        if not self.added:
            return f"already polled: {self.url}"
        if self.found is None:
            return f"added: {self.url}"
        found = self.found
        head = f"added: {found.title or found.url} — {found.entries} entries"
        if found.page is None:
            return head if found.title is None else f"{head} ({found.url})"
        line = f"{head} (the feed {found.url}, announced by {found.page})"
        others = f"; it announces {len(found.others)} more: {', '.join(found.others)}"
        return line + (others if found.others else "")


def check_url(url: str) -> str:
    """The URL without tracking parameters, if it is an http(s) URL with a host."""
    url = url.strip()
    if "://" not in url and re.match(r"[\w.-]+\.[a-z]{2,}(?:[:/]|$)", url, re.I):
        raise UsageError(f"{url!r} has no scheme", f"did you mean https://{url} ?")
    if not is_web_url(url):
        raise UsageError(
            f"{url!r} is not an http(s) URL",
            "give the feed's address, e.g. https://example.org/feed.xml",
        )
    return canonical_url(url) or url


def slug(url: str) -> str:
    """A folder name for a feed's seeds: readable, and unique by a hash of its URL."""
    parts = urlsplit(url)
    words = re.sub(r"[^a-z0-9]+", "-", f"{parts.hostname}{parts.path}".lower()).strip("-")
    return f"{words[:50].strip('-') or 'feed'}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"


def add_feed(settings: Settings, client: Fetcher, url: str, *, now: datetime) -> Added:
    """Fetch `url` once and add the feed there, or the one its page announces.

    UsageError (exit status 2) when it is neither; polled on the next run.
    """
    url = check_url(url)
    if _polled(settings, url):
        return Added(url, False)
    found = discover(client, url)
    feed_url = check_url(found.url)
    with Store.open(settings.state_dir) as store:
        added = store.feeds.add(feed_url, slug(feed_url), now, found.title)
    return Added(feed_url, added, found)


def _polled(settings: Settings, url: str) -> bool:
    with Store.open(settings.state_dir) as store:
        return any(url in (row.url, row.added_url) for row in store.feeds.all())


def add_feeds(settings: Settings, urls: Sequence[str], *, now: datetime) -> list[Added]:
    """Add feeds without fetching them (OPML import; all checked first, so a bad URL adds none)."""
    checked = [check_url(u) for u in urls]
    with Store.open(settings.state_dir) as store:
        return [Added(u, store.feeds.add(u, slug(u), now)) for u in checked]


def remove_feed(settings: Settings, url: str) -> None:
    """Stop polling a feed; its seed files and the pages it brought stay."""
    with Store.open(settings.state_dir) as store:
        if not store.feeds.remove(url.strip()):
            raise FeedError(f"no feed {url!r} is polled", "see them with: digest feeds list")


def list_feeds(settings: Settings) -> list[FeedRow]:
    with Store.open(settings.state_dir, readonly=True) as store:
        return store.feeds.all()


def feed_json(row: FeedRow, interval: timedelta) -> dict[str, Any]:
    """A feed as `feeds list --json` prints it (`interval`: DIGEST_FEED_INTERVAL)."""
    return {
        "url": row.url,
        "title": row.title,
        "status": row.state,
        "last_success": _iso(row.last_success),
        "last_error": row.last_error,
        "next_poll": _iso(row.next_due(interval)) if row.status != "gone" else None,
    }


def import_opml(settings: Settings, path: Path, *, now: datetime) -> tuple[list[Added], list[str]]:
    """Add every http(s) feed an OPML file lists (nested outlines too); and a line per
    outline skipped (not http(s), or no xmlUrl)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror or exc}") from None
    found = read_outlines(data, name=str(path))
    skipped = [f"{label!r}: no xmlUrl (the feed's address)" for label in found.without_url]
    skipped += [f"{s.url}: not an http(s) URL" for s in found.feeds if not _is_http(s.url)]
    if not found.feeds:
        raise FeedError(f"{path}: lists no feeds (no outline with an xmlUrl)")
    usable = [s.url for s in found.feeds if _is_http(s.url)]
    return add_feeds(settings, usable, now=now), skipped


def export_opml(settings: Settings) -> str:
    """Every feed polled (gone ones too), as OPML."""
    rows = list_feeds(settings)
    return write_opml([Subscription(r.url, r.title) for r in rows])


def _is_http(url: str) -> bool:
    try:
        check_url(url)
    except UsageError:
        return False
    return True


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None
