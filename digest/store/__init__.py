"""The state database (SQLite): what was sent, what is queued, what was skipped.

This package is the only place that knows SQL (schema.py: the tables and
migrations). An article counts as handled once a digest holding it is queued
here; the digest stays queued until every recipient's server accepted it (or
refused it for good). Moments go in and come out as datetimes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digest.errors import StateError
from digest.sources import Article, FileVersion
from digest.store.feeds import FeedPoll, FeedRow, FeedStore
from digest.store.schema import DB_NAME, SCHEMA, SCHEMA_VERSION, migrate, open_readonly
from digest.subscribers import (
    STATUSES,
    Preferences,
    Subscriber,
    parse_preferences,
    preference_fields,
)
from digest.summarize import Summary

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "DigestRecord",
    "FeedPoll",
    "FeedRow",
    "FeedStore",
    "FileVersion",
    "QueuedDigest",
    "Store",
]


@dataclass(frozen=True)
class QueuedDigest:
    """A saved message that some recipients still wait for."""

    id: int
    created: datetime
    subject: str
    eml_path: Path
    pending: tuple[str, ...]


@dataclass(frozen=True)
class DigestRecord:
    """One digest as `digest status` shows it."""

    id: int
    created: datetime
    subject: str
    article_count: int
    status: str
    accepted: int
    recipients: int


# === subscribers (s-subs): readers, the article arrival sequence, personal digests ===========
# State grows with subscribers plus articles, never their product: each reader keeps a
# watermark over `arrivals.seq` (everything at or below it was considered for them), and the
# per-message `deliveries` rows say who got what. Bounces are counted from those rows too.


@dataclass(frozen=True)
class Arrival:
    """An article as first read, with its place in the arrival sequence."""

    seq: int
    article: Article
    arrived: datetime
    signature: bytes
    size: int


def _article_json(a: Article) -> str:
    return json.dumps(
        {
            "id": a.id,
            "path": str(a.path),
            "title": a.title,
            "paragraphs": list(a.paragraphs),
            "modified": a.modified.isoformat(),
            "section": a.section,
            "source": a.source,
            "url": a.url,
            "published": a.published.isoformat() if a.published else None,
            "language": a.language,
        }
    )


def _article_of(body: str) -> Article:
    d = json.loads(body)
    published = datetime.fromisoformat(d["published"]) if d["published"] else None
    return Article(
        id=d["id"],
        path=Path(d["path"]),
        title=d["title"],
        paragraphs=tuple(d["paragraphs"]),
        modified=datetime.fromisoformat(d["modified"]),
        section=d["section"],
        source=d["source"],
        url=d["url"],
        published=published,
        language=d["language"],
    )


_SUBSCRIBER_COLUMNS = "s.id, s.email, s.name, s.status, s.prefs, s.joined, (SELECT max(v.updated)"
_SUBSCRIBER_COLUMNS += " FROM deliveries v WHERE v.recipient = s.email AND v.status = 'accepted')"


def _subscriber_of(row: Sequence[Any]) -> Subscriber:
    i, email, name, status, prefs, joined, last = row
    return Subscriber(
        int(i),
        str(email),
        name,
        str(status),
        parse_preferences(json.loads(prefs)),
        datetime.fromisoformat(joined),
        datetime.fromisoformat(last) if last else None,
    )


class SubscriberTables:
    """The Store's subscriber methods (mixed into Store; the only SQL about readers)."""

    _conn: sqlite3.Connection

    def _rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:  # a read-only open of a database older than them
            if "no such table" in str(exc):
                return []
            raise

    def has_subscribers(self) -> bool:
        """True once anyone subscribed (whatever their status): then DIGEST_TO is not used."""
        return bool(self._rows("SELECT 1 FROM subscribers LIMIT 1"))

    def add_subscriber(
        self,
        email: str,
        name: str | None,
        prefs: Preferences,
        joined: datetime,
        status: str = "active",
    ) -> int | None:
        """Add a reader who gets what arrives from now on; None when the address is taken."""
        fields = json.dumps(preference_fields(prefs))
        try:
            with self._conn:
                cur = self._conn.execute(
                    "INSERT INTO subscribers (email, name, status, prefs, joined, watermark)"
                    " VALUES (?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) FROM arrivals))",
                    (email, name, status, fields, joined.isoformat()),
                )
        except sqlite3.IntegrityError:
            return None
        return int(cur.lastrowid or 0)

    def subscriber(self, subscriber_id: int) -> Subscriber | None:
        rows = self._rows(
            f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers s WHERE s.id = ?", (subscriber_id,)
        )
        return _subscriber_of(rows[0]) if rows else None

    def subscriber_by_email(self, email: str) -> Subscriber | None:
        rows = self._rows(
            f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers s WHERE s.email = ?", (email,)
        )
        return _subscriber_of(rows[0]) if rows else None

    def subscribers(self) -> list[Subscriber]:
        """Every reader, in the order they joined."""
        rows = self._rows(
            "SELECT s.id, s.email, s.name, s.status, s.prefs, s.joined, a.last"
            " FROM subscribers s LEFT JOIN (SELECT recipient, max(updated) AS last"
            " FROM deliveries WHERE status = 'accepted' GROUP BY recipient) a"
            " ON a.recipient = s.email ORDER BY s.id"
        )
        return [_subscriber_of(row) for row in rows]

    def watermarks(self) -> dict[int, tuple[int, str | None]]:
        """subscriber id -> (watermark, last scheduled time handled)."""
        rows = self._rows("SELECT id, watermark, last_fire FROM subscribers")
        return {int(i): (int(w), f) for i, w, f in rows}

    def unsubscribe(self, subscriber_id: int, at: datetime) -> None:
        """From this moment on nothing more is sent to them (queued messages included)."""
        with self._conn:
            self._conn.execute(
                "UPDATE subscribers SET status = 'unsubscribed' WHERE id = ?", (subscriber_id,)
            )

    def set_preferences(self, subscriber_id: int, prefs: Preferences) -> None:
        with self._conn:
            self._conn.execute(
                "UPDATE subscribers SET prefs = ? WHERE id = ?",
                (json.dumps(preference_fields(prefs)), subscriber_id),
            )

    def set_status(self, subscriber_id: int, status: str) -> None:
        """Set the status; back to active, earlier refusals no longer count as bounces."""
        if status not in STATUSES:
            raise ValueError(f"unknown subscriber status {status!r}")
        with self._conn:
            self._conn.execute(
                "UPDATE subscribers SET status = ?, bounce_floor = CASE WHEN ? = 'active'"
                " THEN (SELECT coalesce(max(id), 0) FROM digests) ELSE bounce_floor END"
                " WHERE id = ?",
                (status, status, subscriber_id),
            )

    def remove_subscriber(self, subscriber_id: int) -> None:
        """Forget a reader (their past deliveries stay, as for any address)."""
        with self._conn:
            self._conn.execute("DELETE FROM subscribers WHERE id = ?", (subscriber_id,))

    def recipient_status(self, email: str) -> tuple[int, str] | None:
        """(id, status) of the reader with this address, read now (a POST may have just come)."""
        rows = self._rows("SELECT id, status FROM subscribers WHERE email = ?", (email,))
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def mark_bouncing(self, limit: int) -> list[str]:
        """Active readers refused for good in their last `limit` deliveries become bouncing."""
        count = (
            "(SELECT count(*) FROM deliveries v WHERE v.recipient = subscribers.email"
            " AND v.status = 'rejected' AND v.digest_id > subscribers.bounce_floor"
            " AND v.digest_id > (SELECT coalesce(max(w.digest_id), 0) FROM deliveries w"
            " WHERE w.recipient = subscribers.email AND w.status = 'accepted'))"
        )
        with self._conn:
            rows = self._conn.execute(
                f"UPDATE subscribers SET status = 'bouncing' WHERE status = 'active'"
                f" AND {count} >= ? RETURNING email",
                (limit,),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def bouncing(self) -> list[str]:
        return [
            str(r[0])
            for r in self._rows(
                "SELECT email FROM subscribers WHERE status = 'bouncing' ORDER BY id"
            )
        ]

    def record_arrivals(self, articles: Sequence[tuple[Article, bytes, int]], at: datetime) -> None:
        """Give articles read for the first time (with their sketches) the next sequence numbers."""
        with self._conn:
            self._conn.executemany(
                "INSERT OR IGNORE INTO arrivals (article_id, arrived, section, body, signature,"
                " size) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (a.id, at.isoformat(), a.section, _article_json(a), sig, size)
                    for a, sig, size in articles
                ],
            )

    def arrived_ids(self, ids: Iterable[str]) -> set[str]:
        wanted = list(ids)
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._rows(
                f"SELECT article_id FROM arrivals WHERE article_id IN ({marks})", chunk
            )
            found.update(str(r[0]) for r in rows)
        return found

    def arrivals_after(self, seq: int) -> list[Arrival]:
        """The articles that arrived after `seq`, in arrival order."""
        rows = self._rows(
            "SELECT seq, body, arrived, signature, size FROM arrivals WHERE seq > ? ORDER BY seq",
            (seq,),
        )
        return [
            Arrival(int(s), _article_of(b), datetime.fromisoformat(a), bytes(sig), int(n))
            for s, b, a, sig, n in rows
        ]

    def arrival_sketches(self, up_to: int, since: datetime) -> list[tuple[bytes, int]]:
        """Sketches of the articles that arrived at or before `up_to`, not before `since`."""
        rows = self._rows(
            "SELECT signature, size FROM arrivals WHERE seq <= ? AND arrived >= ? ORDER BY seq",
            (up_to, since.isoformat()),
        )
        return [(bytes(sig), int(size)) for sig, size in rows]

    def known_sections(self) -> list[str]:
        rows = self._rows("SELECT DISTINCT section FROM arrivals WHERE section IS NOT NULL")
        return sorted(str(r[0]) for r in rows)

    def advance(self, marks: Sequence[tuple[int, str | None]], seq: int) -> None:
        """Arrivals up to `seq` were considered for these (reader id, scheduled time handled)."""
        with self._conn:
            self._advance(marks, seq)

    def _advance(self, marks: Sequence[tuple[int, str | None]], seq: int) -> None:
        self._conn.executemany(
            "UPDATE subscribers SET watermark = max(watermark, ?),"
            " last_fire = coalesce(?, last_fire) WHERE id = ?",
            [(seq, fired, i) for i, fired in marks],
        )

    def queue_personal(
        self,
        *,
        marker: str,
        stem: str,
        marks: Sequence[tuple[int, str | None]],
        seq: int,
        **digest: Any,
    ) -> int:
        """`queue_digest` for readers, and their watermarks moved to `seq`, in one transaction."""
        # These statements open the transaction; queue_digest's `with` commits it all (or
        # rolls it all back), so a crash leaves both or neither. Under the run lock the new
        # digest's id is the next rowid.
        self._advance(marks, seq)
        self._conn.execute(
            "INSERT INTO personal_digests (digest_id, marker, stem)"
            " VALUES ((SELECT coalesce(max(id), 0) + 1 FROM digests), ?, ?)",
            (marker, stem),
        )
        digest_id = int(self.queue_digest(**digest))  # type: ignore[attr-defined]
        row = self._conn.execute(
            "SELECT 1 FROM personal_digests WHERE digest_id = ?", (digest_id,)
        ).fetchone()
        if row is None:
            raise StateError(f"digest #{digest_id} was queued without its reader template")
        return digest_id

    def personal(self, digest_id: int) -> tuple[str, str] | None:
        """(marker, stem) when the queued digest is a template for readers, else None."""
        rows = self._rows(
            "SELECT marker, stem FROM personal_digests WHERE digest_id = ?", (digest_id,)
        )
        return (str(rows[0][0]), str(rows[0][1])) if rows else None


# === end of subscribers (s-subs) ===========================================================


class Store(SubscriberTables):
    """Typed access to the state database; one instance per run."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, state_dir: Path, *, readonly: bool = False) -> Store:
        """Open (creating if needed) the database; read-only opens never create anything."""
        path = state_dir / DB_NAME
        try:
            if readonly:
                conn = open_readonly(path)
            else:
                state_dir.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, timeout=10.0)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.executescript(SCHEMA)
                migrate(conn, path)
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

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def feeds(self) -> FeedStore:
        """The feed tables (digest.store.feeds)."""
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
            rows = self._conn.execute(f"SELECT id FROM repeats WHERE id IN ({marks})", chunk)
            found.update(row[0] for row in rows)
        return found | self.arrived_ids(wanted)  # s-subs: readers' articles are handled on arrival

    def is_skipped(self, path: Path, size: int, mtime_ns: int) -> bool:
        """True when this exact file version was already reported as unusable."""
        row = self._conn.execute(
            "SELECT 1 FROM skipped WHERE path = ? AND size = ? AND mtime_ns = ?",
            (str(path), size, mtime_ns),
        ).fetchone()
        return row is not None

    def record_skipped(
        self, path: Path, size: int, mtime_ns: int, reason: str, at: datetime
    ) -> None:
        with self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO skipped (path, size, mtime_ns, reason, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (str(path), size, mtime_ns, reason, _iso(at)),
            )

    def queue_digest(
        self,
        *,
        created: datetime,
        subject: str,
        eml_path: Path,
        articles: Sequence[tuple[str, str, str]],
        recipients: Sequence[str],
        sketches: Sequence[tuple[str, bytes, int]] = (),
    ) -> int:
        """Record a saved message and mark its articles (id, path, title) as taken, atomically.

        `sketches` are the articles' sketches (id, values, size), kept to spot copies.
        """
        with self._conn:
            cur = self._conn.execute(
                "INSERT INTO digests (created, subject, eml_path, article_count, status)"
                " VALUES (?, ?, ?, ?, 'queued')",
                (_iso(created), subject, str(eml_path), len(articles)),
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
                [(aid, _iso(created), values, size) for aid, values, size in sketches],
            )
        return digest_id

    def recent_sketches(self, since: datetime) -> list[tuple[str, bytes, int]]:
        """(id, values, size) of the articles sent in digests created at or after `since`."""
        rows = self._conn.execute(
            "SELECT article_id, signature, size FROM prints WHERE created >= ? ORDER BY article_id",
            (_iso(since),),
        ).fetchall()
        return [(str(aid), bytes(sig), int(size)) for aid, sig, size in rows]

    def prune_sketches(self, before: datetime) -> int:
        """Forget the sketches of articles sent in digests created before `before`; how many.

        Only the last DIGEST_DEDUPE_DAYS are ever compared with (`recent_sketches`): older
        rows would only grow the database, at about 1 KB an article sent.
        """
        with self._conn:
            cur = self._conn.execute("DELETE FROM prints WHERE created < ?", (_iso(before),))
        return cur.rowcount

    def record_repeats(self, articles: Sequence[tuple[str, str, str]], at: datetime) -> None:
        """Remember articles (id, path, title) left out as copies of sent ones: never sent."""
        with self._conn:
            self._conn.executemany(
                "INSERT OR IGNORE INTO repeats (id, path, title, at) VALUES (?, ?, ?, ?)",
                [(*article, _iso(at)) for article in articles],
            )

    def queued(self) -> list[QueuedDigest]:
        """Digests with recipients still pending, oldest first."""
        rows = self._conn.execute(
            "SELECT d.id, d.created, d.subject, d.eml_path, group_concat(v.recipient, char(10))"
            " FROM digests d JOIN deliveries v ON v.digest_id = d.id"
            " WHERE v.status = 'pending' GROUP BY d.id ORDER BY d.id"
        ).fetchall()
        return [
            QueuedDigest(int(i), _when(c), str(s), Path(p), tuple(str(r).split("\n")))
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
            DigestRecord(int(i), _when(c), str(s), int(n), str(st), int(a or 0), int(r or 0))
            for i, c, s, n, st, a, r in rows
        ]

    def get_meta(self, key: str) -> str | None:
        """A small named value, or None when it was never set."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)
            )

    # --- caches: what a run can skip because an earlier one already did it --------------------

    def sent_files(self) -> set[FileVersion]:
        """The remembered file versions whose article went out, or was left out as a copy."""
        rows = self._conn.execute(
            "SELECT path, size, mtime_ns, inode FROM files WHERE article_id IN"
            " (SELECT id FROM articles UNION ALL SELECT id FROM repeats"
            " UNION ALL SELECT article_id FROM arrivals)"
        )
        return set(rows)

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
        return int(self._conn.execute("SELECT count(*) FROM files").fetchone()[0])

    def cached_summaries(
        self, ids: Iterable[str], method: str, count: int, version: str
    ) -> dict[str, Summary]:
        """The summaries already made of these articles with the same method, count and code."""
        wanted = list(ids)
        found: dict[str, Summary] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                "SELECT article_id, used_method, language, body FROM summaries"
                " WHERE method = ? AND sentences = ? AND version = ?"
                f" AND article_id IN ({marks})",
                (method, count, version, *chunk),
            ).fetchall()
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


def _iso(moment: datetime) -> str:
    """How the database writes a moment: UTC, to the second (it sorts as text)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)
