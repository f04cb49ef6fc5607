"""The state database's tables, and bringing an older database up to them."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from digest.errors import StateError

DB_NAME = "state.sqlite3"
SCHEMA_VERSION = 6  # PRAGMA user_version; 1 was the first release (no `meta` table)


def iso(moment: datetime) -> str:
    """How the database writes a moment: UTC, to the second (it sorts as text)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


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
-- feeds (digest.store.feeds): the polled feeds, the entries seen, the pages fetched
CREATE TABLE IF NOT EXISTS feeds (
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
);
CREATE TABLE IF NOT EXISTS feed_entries (
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    key TEXT NOT NULL,          -- id/guid, else link, else a hash: seen once, never again
    url TEXT,                   -- its page's canonical URL
    seen TEXT NOT NULL,
    PRIMARY KEY (feed_id, key)
);
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY,       -- an article page's canonical URL: fetched once, ever
    fetched TEXT NOT NULL,
    seed TEXT                   -- the seed file written for it (NULL: none)
);
-- === subscribers: readers, the arrival sequence, personal digests ===
CREATE TABLE IF NOT EXISTS subscribers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT,
    status TEXT NOT NULL,        -- active | paused | unsubscribed | bouncing
    prefs TEXT NOT NULL,         -- JSON: the preference fields as text (subscribers.py)
    joined TEXT NOT NULL,
    watermark INTEGER NOT NULL,  -- arrivals up to this seq were considered for them
    last_fire TEXT,              -- `digest serve`: their scheduled time last handled
    bounce_floor INTEGER NOT NULL DEFAULT 0, -- refusals of digests <= this id no longer count
    token_key TEXT,              -- in each of their tokens: a later reader with this id has another
    legacy_tokens INTEGER NOT NULL DEFAULT 0, -- 1: subscribed before keys; bare-id tokens count
    consent_at TEXT,             -- signup: when they confirmed (the double opt-in's second step)
    consent_client TEXT,         -- from which client address
    consent_agent TEXT,          -- with which user agent
    consent_form TEXT            -- the wording version of the form they signed up with
);
-- signup (digest.readers.web.signup): addresses waiting for their confirmation click
CREATE TABLE IF NOT EXISTS signups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT,
    sections TEXT NOT NULL,      -- as typed on the form, checked
    token_key TEXT NOT NULL,     -- in the confirmation link
    created TEXT NOT NULL,       -- the first request; pending ones expire CONFIRM_DAYS after
    last_mail TEXT,              -- one confirmation mail per address per hour at most
    form TEXT NOT NULL,          -- the wording version of the form it came from
    confirmed TEXT               -- set once confirmed: a second click changes nothing
);
CREATE TABLE IF NOT EXISTS signup_requests (
    client TEXT NOT NULL,        -- a client address's signup requests in the last hour
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS signup_requests_by_client ON signup_requests (client, at);
CREATE TABLE IF NOT EXISTS arrivals (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order digest first read articles in
    article_id TEXT NOT NULL UNIQUE,
    arrived TEXT NOT NULL,
    section TEXT,
    body TEXT NOT NULL,          -- JSON of the Article: a weekly reader's week survives the files
    signature BLOB NOT NULL,     -- its sketch (digest.stories), for copies of earlier arrivals
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS personal_digests (
    digest_id INTEGER PRIMARY KEY, -- the digests row written in the same transaction
    marker TEXT NOT NULL,        -- stands for the reader's tokens in the saved message
    stem TEXT NOT NULL           -- its archive page: {DIGEST_PUBLIC_URL}/archive/{stem}.html
);
-- a reader's deliveries: last sent, and the refusals in a row since their last acceptance
-- the Message-ID each digest went out with: bounces and complaints name it
CREATE TABLE IF NOT EXISTS message_ids (
    message_id TEXT PRIMARY KEY,
    digest_id INTEGER NOT NULL REFERENCES digests(id)
);
CREATE INDEX IF NOT EXISTS deliveries_by_recipient ON deliveries (recipient, status, digest_id);
-- === end of subscribers ===
"""


# Changes to existing tables, by the version they lead to. New tables need no entry:
# SCHEMA's CREATE TABLE IF NOT EXISTS adds them to an old database.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (),
    3: (),
    4: (),
    5: (),
    6: (),
}  # 5: feeds, subscribers
# Columns added to existing tables since they appeared (ALTER TABLE, only where missing: a
# database made by SCHEMA already has them). 6: reader keys and consent.
ADDED_COLUMNS = {
    "subscribers": (
        ("token_key", "TEXT"),
        ("legacy_tokens", "INTEGER NOT NULL DEFAULT 0"),
        ("consent_at", "TEXT"),
        ("consent_client", "TEXT"),
        ("consent_agent", "TEXT"),
        ("consent_form", "TEXT"),
    ),
}


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring an older database up to SCHEMA_VERSION; refuse one from a newer release.

    A current one is left alone: no write at each open (a run opens the store once per
    digest it sends, for the thread that records the answers)."""
    version = _schema_version(conn, path)
    if version == SCHEMA_VERSION:
        return
    with conn:
        for target in range(max(version, 1) + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target]:
                conn.execute(statement)
        _add_columns(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _add_columns(conn: sqlite3.Connection) -> None:
    """Add ADDED_COLUMNS where missing; readers from before keys keep their old links working."""
    for table, columns in ADDED_COLUMNS.items():
        have = {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns:
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    # Readers subscribed before keys: a key for new links, and their old links still theirs.
    conn.execute(
        "UPDATE subscribers SET legacy_tokens = 1, token_key = lower(hex(randomblob(9)))"
        " WHERE token_key IS NULL"
    )


def _schema_version(conn: sqlite3.Connection, path: Path) -> int:
    """The database's schema version; one from a newer release is refused."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StateError(
            f"{path} was written by a newer digest (schema {version} > {SCHEMA_VERSION})",
            "upgrade digest, or point DIGEST_STATE_DIR elsewhere",
        )
    return version


def open_readonly(path: Path) -> sqlite3.Connection:
    """The database as it is, never changed; one older than SCHEMA is brought up to it in memory.

    So every method finds every table, and a read-only command (status, preview,
    dry run) right after an upgrade answers as the next real run would.
    """
    if not path.exists():
        conn = sqlite3.connect(":memory:")
        conn.executescript(SCHEMA)
        return conn
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    if _schema_version(conn, path) == SCHEMA_VERSION:
        return conn
    copy = sqlite3.connect(":memory:")
    with conn:
        conn.backup(copy)
    conn.close()
    copy.executescript(SCHEMA)
    migrate(copy, path)
    return copy


def private_file(state_dir: Path, path: Path) -> None:
    """The database file, created (or made) readable by its owner only: it holds every address.

    SQLite gives its -wal and -shm files the database file's mode, so they follow.
    """
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077 and os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
