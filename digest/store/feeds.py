"""The feed tables (see schema.py): feeds polled, entries seen, pages fetched; `Store.feeds`.

Moments go in and out as datetimes; ISO text only inside the store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from digest.store.schema import iso

PRIVATE_SETTING = "DIGEST_ALLOW_PRIVATE_ADDRESSES"  # named in the error of a refused address
_FEED_COLUMNS = (
    "id, url, added_url, slug, title, added, status, etag, last_modified, last_poll,"
    " last_success, last_error, failures, next_poll"
)


@dataclass(frozen=True)
class FeedRow:
    """One polled feed as the state remembers it."""

    id: int
    url: str
    added_url: str
    slug: str
    title: str | None
    added: datetime
    status: str  # active | gone
    etag: str | None
    last_modified: str | None  # the server's Last-Modified, as it wrote it
    last_poll: datetime | None
    last_success: datetime | None
    last_error: str | None
    failures: int
    next_poll: datetime | None  # None: due now (never for a gone feed)

    def next_due(self, interval: timedelta) -> datetime | None:
        """When it is next polled: a success waits `interval` from its poll (as set now, so a
        shortened DIGEST_FEED_INTERVAL counts at once) or the server's longer max-age
        (`next_poll`); a failure waits its backoff. None: now."""
        if self.failures or self.last_poll is None:
            return self.next_poll
        after = self.last_poll + interval
        return max(after, self.next_poll) if self.next_poll else after

    def due(self, now: datetime, interval: timedelta, private_allowed: bool = False) -> bool:
        """Polled at `now`: active and its time has come, or it failed only for a private
        address that DIGEST_ALLOW_PRIVATE_ADDRESSES now allows."""
        if self.status != "active":
            return False
        if private_allowed and PRIVATE_SETTING in (self.last_error or ""):
            return True
        when = self.next_due(interval)
        return when is None or when <= now

    @property
    def state(self) -> str:
        """active, failing (the last poll failed) or gone, as `feeds list` shows it."""
        if self.status == "gone":
            return "gone"
        return "failing" if self.failures else "active"


@dataclass(frozen=True)
class FeedPoll:
    """What one poll changes in a feed's row; None leaves a column as it is."""

    at: datetime
    next_poll: datetime | None
    failures: int
    ok: bool
    error: str | None = None
    gone: bool = False
    url: str | None = None  # a permanent redirect's target
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None


class FeedStore:
    """The feed tables; reached as `Store.feeds`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def add(self, url: str, slug: str, added: datetime, title: str | None = None) -> bool:
        """Add a feed; False when one with this URL is already polled."""
        try:
            with self._conn:
                self._conn.execute(
                    "INSERT INTO feeds (url, added_url, slug, title, added) VALUES (?, ?, ?, ?, ?)",
                    (url, url, slug, title, iso(added)),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def remove(self, url: str) -> bool:
        """Forget a feed (by its URL now or as added) and its seen entries; pages stay known."""
        with self._conn:
            found = self._conn.execute(
                "SELECT id FROM feeds WHERE url = ? OR added_url = ?", (url, url)
            ).fetchall()
            for (feed_id,) in found:
                self._conn.execute("DELETE FROM feed_entries WHERE feed_id = ?", (feed_id,))
                self._conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
        return bool(found)

    def all(self) -> list[FeedRow]:
        return self._rows(f"SELECT {_FEED_COLUMNS} FROM feeds ORDER BY id", ())

    def due(
        self, now: datetime, interval: timedelta, private_allowed: bool = False
    ) -> list[FeedRow]:
        """Active feeds to poll at `now` (see `FeedRow.due`)."""
        rows = self._rows(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE status = 'active'", ())
        return [row for row in rows if row.due(now, interval, private_allowed)]

    def count(self) -> int:
        """How many feeds there are."""
        return int(self._conn.execute("SELECT count(*) FROM feeds").fetchone()[0])

    def _rows(self, sql: str, args: tuple[str, ...]) -> list[FeedRow]:
        rows = self._conn.execute(sql, args).fetchall()
        return [_feed_row(row) for row in rows]

    def record_poll(self, feed_id: int, poll: FeedPoll) -> None:
        """Store one poll's outcome; a permanent redirect's URL only if no other feed has it."""
        with self._conn:
            self._conn.execute(
                "UPDATE feeds SET last_poll = :at, next_poll = :next, failures = :failures,"
                " last_success = CASE WHEN :ok THEN :at ELSE last_success END,"
                " last_error = CASE WHEN :ok THEN NULL ELSE :error END,"
                " status = CASE WHEN :gone THEN 'gone' ELSE status END,"
                " title = coalesce(:title, title), etag = CASE WHEN :ok THEN :etag ELSE etag END,"
                " last_modified = CASE WHEN :ok THEN :modified ELSE last_modified END"
                " WHERE id = :id",
                {
                    "id": feed_id,
                    "at": iso(poll.at),
                    "next": iso(poll.next_poll) if poll.next_poll else None,
                    "failures": poll.failures,
                    "ok": poll.ok,
                    "error": poll.error,
                    "gone": poll.gone,
                    "title": poll.title,
                    "etag": poll.etag,
                    "modified": poll.last_modified,
                },
            )
            if poll.url is not None:
                self._conn.execute(
                    "UPDATE OR IGNORE feeds SET url = ? WHERE id = ?", (poll.url, feed_id)
                )

    def seen(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """The keys among `keys` this feed listed before."""
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT key FROM feed_entries WHERE feed_id = ? AND key IN ({marks})",
                (feed_id, *chunk),
            )
            found.update(str(key) for (key,) in rows)
        return found

    def fetched_pages(self, urls: Sequence[str]) -> set[str]:
        """The page URLs among `urls` fetched (or given up on) before, by any feed."""
        found: set[str] = set()
        for start in range(0, len(urls), 500):
            chunk = list(urls[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(f"SELECT url FROM pages WHERE url IN ({marks})", chunk)
            found.update(str(url) for (url,) in rows)
        return found

    def record_entries(
        self, feed_id: int, entries: Sequence[tuple[str, str | None, str | None]], at: datetime
    ) -> None:
        """Mark entries (key, page url, seed written) seen, and their pages fetched, at once."""
        with self._conn:
            self._conn.executemany(
                "INSERT OR IGNORE INTO feed_entries (feed_id, key, url, seen) VALUES (?, ?, ?, ?)",
                [(feed_id, key, url, iso(at)) for key, url, _ in entries],
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO pages (url, fetched, seed) VALUES (?, ?, ?)",
                [(url, iso(at), seed) for _, url, seed in entries if url is not None],
            )

    def record_waiting(
        self, feed_id: int, entries: Sequence[tuple[str, str]], at: datetime
    ) -> None:
        """Mark entries (key, page url) seen whose pages wait for the next run (the budget)."""
        with self._conn:
            self._conn.executemany(
                "INSERT OR IGNORE INTO feed_entries (feed_id, key, url, seen) VALUES (?, ?, ?, ?)",
                [(feed_id, key, url, iso(at)) for key, url in entries],
            )

    def waiting_pages(self) -> list[tuple[int, str, str, str]]:
        """(feed id, feed slug, entry key, page url) of the pages that wait for a run."""
        rows = self._conn.execute(
            "SELECT e.feed_id, f.slug, e.key, e.url FROM feed_entries e"
            " JOIN feeds f ON f.id = e.feed_id LEFT JOIN pages p ON p.url = e.url"
            " WHERE e.url IS NOT NULL AND p.url IS NULL ORDER BY e.seen, e.feed_id"
        ).fetchall()
        return [(int(fid), str(slug), str(key), str(url)) for fid, slug, key, url in rows]

    def record_pages(self, pages: Sequence[tuple[str, str | None]], at: datetime) -> None:
        """Mark pages (url, seed written) fetched or given up on, for good."""
        with self._conn:
            self._conn.executemany(
                "INSERT OR IGNORE INTO pages (url, fetched, seed) VALUES (?, ?, ?)",
                [(url, iso(at), seed) for url, seed in pages],
            )

    def counts(self) -> dict[str, int]:
        """Feeds by state: active, failing, gone."""
        counts = {"active": 0, "failing": 0, "gone": 0}
        for row in self.all():
            counts[row.state] += 1
        return counts


def _moment(text: object) -> datetime | None:
    return datetime.fromisoformat(str(text)) if text else None


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _feed_row(row: tuple[object, ...]) -> FeedRow:
    fid, url, added_url, slug, title, added, status, etag, modified = row[:9]
    last_poll, last_ok, error, failures, next_poll = row[9:]
    return FeedRow(
        id=int(str(fid)),
        url=str(url),
        added_url=str(added_url),
        slug=str(slug),
        title=_opt(title),
        added=_moment(added) or datetime.min.replace(tzinfo=UTC),
        status=str(status),
        etag=_opt(etag),
        last_modified=_opt(modified),
        last_poll=_moment(last_poll),
        last_success=_moment(last_ok),
        last_error=_opt(error),
        failures=int(str(failures)),
        next_poll=_moment(next_poll),
    )
