"""The feed tables (see schema.py): feeds polled, entries seen, pages fetched; `Store.feeds`.

Moments go in and out as datetimes; ISO text only inside the store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from digest.store.schema import iso

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

    def due(self, now: datetime) -> list[FeedRow]:
        """Active feeds whose next poll is not later than `now`."""
        return self._rows(
            f"SELECT {_FEED_COLUMNS} FROM feeds WHERE status = 'active'"
            " AND (next_poll IS NULL OR next_poll <= ?) ORDER BY id",
            (iso(now),),
        )

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
