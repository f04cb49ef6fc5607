"""The feeds a digest polls: add, remove, list, import and export OPML (state in the store)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from digest.errors import FeedError
from digest.intake.feeds.parse import Subscription, read_opml, write_opml
from digest.settings import Settings
from digest.store import FeedRow, Store
from digest.text import is_web_url


@dataclass(frozen=True)
class Added:
    """One URL given to `feeds add`: added now, or polled already."""

    url: str
    added: bool


def check_url(url: str) -> str:
    """The URL as given, if it is an http(s) URL with a host; FeedError otherwise."""
    url = url.strip()
    if not is_web_url(url):
        raise FeedError(
            f"{url!r} is not an http(s) URL",
            "give the feed's address, e.g. https://example.org/feed.xml",
        )
    return url


def slug(url: str) -> str:
    """A folder name for a feed's seeds: readable, and unique by a hash of its URL."""
    parts = urlsplit(url)
    words = re.sub(r"[^a-z0-9]+", "-", f"{parts.hostname}{parts.path}".lower()).strip("-")
    return f"{words[:50].strip('-') or 'feed'}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"


def add_feeds(settings: Settings, urls: Sequence[str], *, now: datetime) -> list[Added]:
    """Add feeds (all checked first, so a bad URL adds none); polled on the next run."""
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


def feed_json(row: FeedRow) -> dict[str, Any]:
    """A feed as `feeds list --json` prints it."""
    return {
        "url": row.url,
        "title": row.title,
        "status": row.state,
        "last_success": _iso(row.last_success),
        "last_error": row.last_error,
        "next_poll": _iso(row.next_poll) if row.status != "gone" else None,
    }


def import_opml(settings: Settings, path: Path, *, now: datetime) -> list[Added]:
    """Add every feed an OPML file lists (nested outlines too); http(s) ones only."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror or exc}") from None
    found = read_opml(data, name=str(path))
    if not found:
        raise FeedError(f"{path}: lists no feeds (no outline with an xmlUrl)")
    usable = [s.url for s in found if _is_http(s.url)]
    return add_feeds(settings, usable, now=now)


def export_opml(settings: Settings) -> str:
    """Every feed polled (gone ones too), as OPML."""
    rows = list_feeds(settings)
    return write_opml([Subscription(r.url, r.title) for r in rows])


def _is_http(url: str) -> bool:
    try:
        check_url(url)
    except FeedError:
        return False
    return True


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None
