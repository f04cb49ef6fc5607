"""The state database (SQLite): what was sent, what is queued, what was skipped.

This is the only module that knows SQL. An article counts as handled once a
digest holding it is queued here; the digest stays queued until every
recipient's server accepted it (or refused it for good).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from digest.errors import LockBusyError, StateError
from digest.sources import FileVersion
from digest.summarize import Summary

DB_NAME = "state.sqlite3"
SCHEMA_VERSION = 5  # PRAGMA user_version; 1 was the first release (no `meta` table)
LOCK_NAME = "lock"

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,        -- stable id from the normalized body
    path TEXT NOT NULL,
    title TEXT NOT NULL,
    digest_id INTEGER NOT NULL REFERENCES digests(id)
);
CREATE TABLE IF NOT EXISTS digests (
    id INTEGER PRIMARY KEY,
    created TEXT NOT NULL,
    subject TEXT NOT NULL,
    eml_path TEXT NOT NULL,
    article_count INTEGER NOT NULL,
    status TEXT NOT NULL        -- queued | sent | failed
);
CREATE TABLE IF NOT EXISTS deliveries (
    digest_id INTEGER NOT NULL REFERENCES digests(id),
    recipient TEXT NOT NULL,
    status TEXT NOT NULL,       -- pending | accepted | rejected
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    updated TEXT,
    PRIMARY KEY (digest_id, recipient)
);
CREATE TABLE IF NOT EXISTS skipped (
    path TEXT PRIMARY KEY,      -- reported once; retried only when the file changes
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,       -- e.g. the scheduler's last scheduled run
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,      -- a seed file already read: unchanged, it is not read again
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    article_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS summaries (
    article_id TEXT NOT NULL,   -- a cache: a digest built again never summarizes again
    method TEXT NOT NULL,       -- as asked for (DIGEST_SUMMARIZER)
    sentences INTEGER NOT NULL, -- as asked for (DIGEST_SENTENCES)
    version TEXT NOT NULL,      -- the code that made it; another version is a miss
    used_method TEXT NOT NULL,  -- what made it ("lead" when the ranker could not)
    language TEXT NOT NULL,
    body TEXT NOT NULL,         -- JSON list of the sentences
    PRIMARY KEY (article_id, method, sentences, version)
);
CREATE TABLE IF NOT EXISTS prints (
    article_id TEXT PRIMARY KEY, -- a sent article's MinHash sketch (digest.stories): a copy
    created TEXT NOT NULL,       -- under another name within DIGEST_DEDUPE_DAYS is not sent again
    signature BLOB NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS repeats (
    id TEXT PRIMARY KEY,        -- an article left out as a copy of one already sent
    path TEXT NOT NULL,
    title TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class QueuedDigest:
    """A saved message that some recipients still wait for."""

    id: int
    created: str
    subject: str
    eml_path: Path
    pending: tuple[str, ...]


@dataclass(frozen=True)
class DigestRecord:
    """One digest as `digest status` shows it."""

    id: int
    created: str
    subject: str
    article_count: int
    status: str
    accepted: int
    recipients: int


class Store:
    """Typed access to the state database; one instance per run."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, state_dir: Path, *, readonly: bool = False) -> Store:
        """Open (creating if needed) the database; read-only opens never create anything."""
        path = state_dir / DB_NAME
        try:
            if readonly:
                conn = _open_readonly(path)
            else:
                state_dir.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, timeout=10.0)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.executescript(SCHEMA)
                _migrate(conn, path)
        except (sqlite3.Error, OSError) as exc:
            raise StateError(
                f"cannot open the state database {path}: {exc}",
                "check DIGEST_STATE_DIR points to a writable folder",
            ) from exc
        conn.execute("PRAGMA foreign_keys=ON")
        return cls(conn)

    @classmethod
    def open_existing(cls, state_dir: Path) -> Store | None:
        """Open the database for writing only if it already exists, else None.

        Commands that change no state (preview, dry run, summarize) still keep
        the summaries they made in it, but never create it.
        """
        if not (state_dir / DB_NAME).is_file():
            return None
        try:
            return cls.open(state_dir)
        except StateError:
            return None

    def close(self) -> None:
        self._conn.close()

    @property
    def feeds(self) -> FeedStore:
        """The feed tables (see the block at the end of this module)."""
        return FeedStore(self._conn)

    def sent_ids(self, ids: Iterable[str]) -> set[str]:
        """The ids among `ids` that are already part of a digest, or left out as copies."""
        wanted = list(ids)
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(f"SELECT id FROM articles WHERE id IN ({marks})", chunk)
            found.update(row[0] for row in rows)
            try:
                rows = self._conn.execute(f"SELECT id FROM repeats WHERE id IN ({marks})", chunk)
            except sqlite3.OperationalError:  # a read-only open of a database older than it
                continue
            found.update(row[0] for row in rows)
        return found

    def is_skipped(self, path: Path, size: int, mtime_ns: int) -> bool:
        """True when this exact file version was already reported as unusable."""
        row = self._conn.execute(
            "SELECT 1 FROM skipped WHERE path = ? AND size = ? AND mtime_ns = ?",
            (str(path), size, mtime_ns),
        ).fetchone()
        return row is not None

    def record_skipped(self, path: Path, size: int, mtime_ns: int, reason: str, at: str) -> None:
        with self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO skipped (path, size, mtime_ns, reason, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (str(path), size, mtime_ns, reason, at),
            )

    def queue_digest(
        self,
        *,
        created: str,
        subject: str,
        eml_path: Path,
        articles: Sequence[tuple[str, str, str]],
        recipients: Sequence[str],
        prints: Sequence[tuple[str, bytes, int]] = (),
    ) -> int:
        """Record a saved message and mark its articles (id, path, title) as taken, atomically.

        `prints` are the articles' sketches (id, signature, size), kept to spot copies.
        """
        with self._conn:
            cur = self._conn.execute(
                "INSERT INTO digests (created, subject, eml_path, article_count, status)"
                " VALUES (?, ?, ?, ?, 'queued')",
                (created, subject, str(eml_path), len(articles)),
            )
            digest_id = int(cur.lastrowid or 0)
            self._conn.executemany(
                "INSERT OR IGNORE INTO articles (id, path, title, digest_id) VALUES (?, ?, ?, ?)",
                [(aid, path, title, digest_id) for aid, path, title in articles],
            )
            self._conn.executemany(
                "INSERT INTO deliveries (digest_id, recipient, status) VALUES (?, ?, 'pending')",
                [(digest_id, r) for r in recipients],
            )
            self._conn.executemany(
                "INSERT OR REPLACE INTO prints (article_id, created, signature, size)"
                " VALUES (?, ?, ?, ?)",
                [(aid, created, signature, size) for aid, signature, size in prints],
            )
        return digest_id

    def recent_prints(self, since: str) -> list[tuple[str, bytes, int]]:
        """(id, signature, size) of the articles sent in digests created at or after `since`."""
        try:
            rows = self._conn.execute(
                "SELECT article_id, signature, size FROM prints WHERE created >= ?"
                " ORDER BY article_id",
                (since,),
            ).fetchall()
        except sqlite3.OperationalError:  # a read-only open of a database older than `prints`
            return []
        return [(str(aid), bytes(sig), int(size)) for aid, sig, size in rows]

    def record_repeats(self, articles: Sequence[tuple[str, str, str]], at: str) -> None:
        """Remember articles (id, path, title) left out as copies of sent ones: never sent."""
        with self._conn:
            self._conn.executemany(
                "INSERT OR IGNORE INTO repeats (id, path, title, at) VALUES (?, ?, ?, ?)",
                [(*article, at) for article in articles],
            )

    def queued(self) -> list[QueuedDigest]:
        """Digests with recipients still pending, oldest first."""
        rows = self._conn.execute(
            "SELECT d.id, d.created, d.subject, d.eml_path, group_concat(v.recipient, char(10))"
            " FROM digests d JOIN deliveries v ON v.digest_id = d.id"
            " WHERE v.status = 'pending' GROUP BY d.id ORDER BY d.id"
        ).fetchall()
        return [
            QueuedDigest(int(i), str(c), str(s), Path(p), tuple(str(r).split("\n")))
            for i, c, s, p, r in rows
        ]

    def mark_delivery(
        self, digest_id: int, recipient: str, status: str, at: str, error: str | None = None
    ) -> None:
        """Record one recipient's outcome the moment it is known, then settle the digest."""
        with self._conn:
            self._conn.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, last_error = ?,"
                " updated = ? WHERE digest_id = ? AND recipient = ?",
                (status, error, at, digest_id, recipient),
            )
            self._conn.execute(
                "UPDATE digests SET status = CASE"
                " WHEN EXISTS (SELECT 1 FROM deliveries"
                "   WHERE digest_id = :d AND status = 'pending') THEN 'queued'"
                " WHEN EXISTS (SELECT 1 FROM deliveries"
                "   WHERE digest_id = :d AND status = 'accepted') THEN 'sent'"
                " ELSE 'failed' END WHERE id = :d",
                {"d": digest_id},
            )

    def recent_digests(self, limit: int = 5) -> list[DigestRecord]:
        rows = self._conn.execute(
            "SELECT d.id, d.created, d.subject, d.article_count, d.status,"
            " sum(v.status = 'accepted'), count(v.recipient)"
            " FROM digests d LEFT JOIN deliveries v ON v.digest_id = d.id"
            " GROUP BY d.id ORDER BY d.id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            DigestRecord(int(i), str(c), str(s), int(n), str(st), int(a or 0), int(r or 0))
            for i, c, s, n, st, a, r in rows
        ]

    def last_sent_at(self) -> datetime | None:
        """When the newest digest that reached someone was created (the scheduler's memory)."""
        row = self._conn.execute(
            "SELECT max(created) FROM digests WHERE status IN ('sent', 'queued')"
        ).fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def skipped_count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM skipped").fetchone()[0])

    def get_meta(self, key: str) -> str | None:
        """A small named value, or None when it was never set."""
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError:  # a read-only open of a database older than `meta`
            return None
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)
            )

    # --- caches: what a run can skip because an earlier one already did it --------------------

    def sent_files(self) -> set[FileVersion]:
        """The remembered file versions whose article went out, or was left out as a copy."""
        try:
            rows = self._conn.execute(
                "SELECT path, size, mtime_ns, inode FROM files WHERE article_id IN"
                " (SELECT id FROM articles UNION ALL SELECT id FROM repeats)"
            )
            return set(rows)
        except sqlite3.OperationalError:  # a read-only open of a database older than `files`
            return set()

    def skipped_files(self) -> set[tuple[str, int, int]]:
        """(path, size, mtime_ns) of every file version already reported as unusable."""
        return set(self._conn.execute("SELECT path, size, mtime_ns FROM skipped"))

    def remember_files(self, files: Iterable[tuple[FileVersion, str]]) -> None:
        """Remember which article each file version holds, so it need not be read again."""
        with self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO files (path, size, mtime_ns, inode, article_id)"
                " VALUES (?, ?, ?, ?, ?)",
                [(*version, article_id) for version, article_id in files],
            )

    def forget_files_except(self, paths: set[str]) -> None:
        """Drop what is remembered about files no longer listed (deleted or renamed)."""
        stale = [(p,) for (p,) in self._conn.execute("SELECT path FROM files") if p not in paths]
        with self._conn:
            self._conn.executemany("DELETE FROM files WHERE path = ?", stale)

    def file_count(self) -> int:
        try:
            return int(self._conn.execute("SELECT count(*) FROM files").fetchone()[0])
        except sqlite3.OperationalError:
            return 0

    def cached_summaries(
        self, ids: Iterable[str], method: str, count: int, version: str
    ) -> dict[str, Summary]:
        """The summaries already made of these articles with the same method, count and code."""
        wanted = list(ids)
        found: dict[str, Summary] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            try:
                rows = self._conn.execute(
                    "SELECT article_id, used_method, language, body FROM summaries"
                    " WHERE method = ? AND sentences = ? AND version = ?"
                    f" AND article_id IN ({marks})",
                    (method, count, version, *chunk),
                ).fetchall()
            except sqlite3.OperationalError:  # read-only, older than `summaries`
                return found
            for aid, used, language, body in rows:
                found[str(aid)] = Summary(tuple(json.loads(body)), str(language), str(used))
        return found

    def save_summaries(
        self, summaries: Mapping[str, Summary], method: str, count: int, version: str
    ) -> None:
        """Keep summaries (by article id) for the next digest built of the same articles."""
        rows = [
            (aid, method, count, version, s.method, s.language, json.dumps(list(s.sentences)))
            for aid, s in summaries.items()
        ]
        try:
            with self._conn:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO summaries (article_id, method, sentences, version,"
                    " used_method, language, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
        except sqlite3.Error as exc:
            raise StateError(f"cannot save summaries in the state database: {exc}") from exc


# Changes to existing tables, by the version they lead to. New tables need no entry:
# SCHEMA's CREATE TABLE IF NOT EXISTS adds them to an old database.
MIGRATIONS: dict[int, tuple[str, ...]] = {2: (), 3: (), 4: ()}  # 5: at the end


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring an older database up to SCHEMA_VERSION; refuse one from a newer release."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StateError(
            f"{path} was written by a newer digest (schema {version} > {SCHEMA_VERSION})",
            "upgrade digest, or point DIGEST_STATE_DIR elsewhere",
        )
    with conn:
        for target in range(max(version, 1) + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _open_readonly(path: Path) -> sqlite3.Connection:
    if not path.exists():
        conn = sqlite3.connect(":memory:")
        conn.executescript(SCHEMA)
        return conn
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)


@contextmanager
def run_lock(state_dir: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the run lock, waiting up to `wait` seconds; only one run may send at a time."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, wait)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _acquire(fd: int, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise StateError(f"cannot take the run lock: {exc}") from exc
        if time.monotonic() >= deadline:
            raise LockBusyError(
                "another digest run is in progress (lock held)",
                "this run sent nothing; the other run will deliver",
            )
        time.sleep(0.1)


# === feeds: the polled feeds, the entries seen, the pages fetched (digest.feedrun) ============

FEED_TABLES = (
    """CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,   -- where it is polled; a permanent redirect updates it
    added_url TEXT NOT NULL,    -- as it was added, so `feeds remove` knows it by either
    slug TEXT NOT NULL UNIQUE,  -- its folder under <seeds>/feeds/
    title TEXT,
    added TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',  -- active | gone (410: never polled again)
    etag TEXT,
    last_modified TEXT,
    last_poll TEXT,
    last_success TEXT,
    last_error TEXT,            -- NULL once a poll succeeds again
    failures INTEGER NOT NULL DEFAULT 0,  -- polls failed in a row: the backoff doubles
    next_poll TEXT              -- NULL: due now
)""",
    """CREATE TABLE IF NOT EXISTS feed_entries (
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    key TEXT NOT NULL,          -- id/guid, else link, else a hash: seen once, never again
    url TEXT,                   -- its page's canonical URL
    seen TEXT NOT NULL,
    PRIMARY KEY (feed_id, key)
)""",
    """CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY,       -- an article page's canonical URL: fetched once, ever
    fetched TEXT NOT NULL,
    seed TEXT                   -- the seed file written for it (NULL: none)
)""",
)
MIGRATIONS[5] = FEED_TABLES
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
                    (url, url, slug, title, _stamp(added)),
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
            (_stamp(now),),
        )

    def count(self) -> int:
        """How many feeds there are; 0 for a database older than the feed tables."""
        try:
            return int(self._conn.execute("SELECT count(*) FROM feeds").fetchone()[0])
        except sqlite3.OperationalError:
            return 0

    def _rows(self, sql: str, args: tuple[str, ...]) -> list[FeedRow]:
        try:
            rows = self._conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # a read-only open of a database older than `feeds`
            return []
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
                    "at": _stamp(poll.at),
                    "next": _stamp(poll.next_poll) if poll.next_poll else None,
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
                [(feed_id, key, url, _stamp(at)) for key, url, _ in entries],
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO pages (url, fetched, seed) VALUES (?, ?, ?)",
                [(url, _stamp(at), seed) for _, url, seed in entries if url is not None],
            )

    def counts(self) -> dict[str, int]:
        """Feeds by state: active, failing, gone."""
        counts = {"active": 0, "failing": 0, "gone": 0}
        for row in self.all():
            counts[row.state] += 1
        return counts


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _moment(text: object) -> datetime | None:
    return datetime.fromisoformat(str(text)) if text else None


def _feed_row(row: tuple[object, ...]) -> FeedRow:
    (fid, url, added_url, slug, title, added, status, etag, modified, last_poll, last_ok) = row[:11]
    error, failures, next_poll = row[11:]
    return FeedRow(
        int(str(fid)),
        str(url),
        str(added_url),
        str(slug),
        None if title is None else str(title),
        _moment(added) or datetime.min.replace(tzinfo=UTC),
        str(status),
        None if etag is None else str(etag),
        None if modified is None else str(modified),
        _moment(last_poll),
        _moment(last_ok),
        None if error is None else str(error),
        int(str(failures)),
        _moment(next_poll),
    )


# === end of feeds ================================================================================
