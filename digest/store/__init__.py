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
from datetime import datetime
from pathlib import Path

from digest.errors import StateError
from digest.records import FileVersion, QueuedDigest, Summary
from digest.store.feeds import FeedPoll, FeedRow, FeedStore
from digest.store.schema import (
    DB_NAME,
    SCHEMA,
    SCHEMA_VERSION,
    iso,
    migrate,
    open_readonly,
    private_file,
)
from digest.store.signups import Signup, SignupTables
from digest.store.subscribers import SubscriberTables

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "DigestRecord",
    "FeedPoll",
    "FeedRow",
    "FeedStore",
    "Signup",
    "SignupTables",
    "Store",
    "SubscriberTables",
]


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


class Store(SubscriberTables, SignupTables):
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
                private_file(state_dir, path)
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

    def folder(self) -> Path:
        """The state folder of this database (to open another connection, for another thread)."""
        _, _, path = self._conn.execute("PRAGMA database_list").fetchone()
        return Path(path).parent

    def check_writable(self) -> None:
        """StateError unless a write could start now (takes the write lock, changes nothing)."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:  # a read-only file opens and even locks; only a write says so
                self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', '')")
            finally:
                self._conn.rollback()
        except sqlite3.Error as exc:
            raise StateError(
                f"the state database cannot be written: {exc}",
                "check DIGEST_STATE_DIR: its folder and files must be writable by digest",
            ) from exc

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
        return found | self.arrived_ids(wanted)  # readers' articles are handled on arrival

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
                (str(path), size, mtime_ns, reason, iso(at)),
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
        message_id: str | None = None,
    ) -> int:
        """Record a saved message and mark its articles (id, path, title) as taken, atomically.

        `sketches` are the articles' sketches (id, values, size), kept to spot copies;
        `message_id` the Message-ID it goes out with (a bounce naming it is ours).
        """
        with self._conn:
            cur = self._conn.execute(
                "INSERT INTO digests (created, subject, eml_path, article_count, status)"
                " VALUES (?, ?, ?, ?, 'queued')",
                (iso(created), subject, str(eml_path), len(articles)),
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
                [(aid, iso(created), values, size) for aid, values, size in sketches],
            )
            if message_id:
                self._message_id_row(digest_id, message_id)
        return digest_id

    def recent_sketches(self, since: datetime) -> list[tuple[str, bytes, int]]:
        """(id, values, size) of the articles sent in digests created at or after `since`."""
        rows = self._conn.execute(
            "SELECT article_id, signature, size FROM prints WHERE created >= ? ORDER BY article_id",
            (iso(since),),
        ).fetchall()
        return [(str(aid), bytes(sig), int(size)) for aid, sig, size in rows]

    def prune_sketches(self, before: datetime) -> int:
        """Forget the sketches of articles sent in digests created before `before`; how many.

        Only the last DIGEST_DEDUPE_DAYS are ever compared with (`recent_sketches`): older
        rows would only grow the database, at about 1 KB an article sent.
        """
        with self._conn:
            cur = self._conn.execute("DELETE FROM prints WHERE created < ?", (iso(before),))
        return cur.rowcount

    def record_repeats(self, articles: Sequence[tuple[str, str, str]], at: datetime) -> None:
        """Remember articles (id, path, title) left out as copies of sent ones: never sent."""
        with self._conn:
            self._conn.executemany(
                "INSERT OR IGNORE INTO repeats (id, path, title, at) VALUES (?, ?, ?, ?)",
                [(*article, iso(at)) for article in articles],
            )

    def queued(self) -> list[QueuedDigest]:
        """Digests with recipients still pending, oldest first."""
        rows = self._conn.execute(
            "SELECT d.id, d.created, d.subject, d.eml_path, group_concat(v.recipient, char(10))"
            " FROM digests d JOIN deliveries v ON v.digest_id = d.id"
            " WHERE v.status = 'pending' GROUP BY d.id ORDER BY d.id"
        ).fetchall()
        return [
            QueuedDigest(
                int(i), datetime.fromisoformat(c), str(s), Path(p), tuple(str(r).split("\n"))
            )
            for i, c, s, p, r in rows
        ]

    def mark_deliveries(
        self, digest_id: int, rows: Sequence[tuple[str, str, str | None]], at: str
    ) -> None:
        """Record (recipient, status, error) outcomes in one transaction, then settle the digest."""
        with self._conn:
            self._conn.executemany(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, last_error = ?,"
                " updated = ? WHERE digest_id = ? AND recipient = ?",
                [(status, error, at, digest_id, recipient) for recipient, status, error in rows],
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

    def remember_message_id(self, digest_id: int, message_id: str) -> None:
        """The Message-ID a digest goes out with, so a bounce naming it can be matched."""
        with self._conn:
            self._message_id_row(digest_id, message_id)

    def _message_id_row(self, digest_id: int, message_id: str) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO message_ids (message_id, digest_id) VALUES (?, ?)",
            (message_id.strip(), digest_id),
        )

    def digest_for_message_id(self, message_id: str) -> int | None:
        row = self._conn.execute(
            "SELECT digest_id FROM message_ids WHERE message_id = ?", (message_id.strip(),)
        ).fetchone()
        return int(row[0]) if row else None

    def delivery_status(self, digest_id: int, recipient: str) -> str | None:
        """One recipient's status for one digest (accepted, rejected, ...); None if not one."""
        row = self._conn.execute(
            "SELECT status FROM deliveries WHERE digest_id = ? AND lower(recipient) = lower(?)",
            (digest_id, recipient),
        ).fetchone()
        return str(row[0]) if row else None

    def record_bounce(self, digest_id: int, recipient: str, error: str, at: str) -> bool:
        """An accepted delivery bounced later (a DSN): now a refusal; False if not accepted."""
        with self._conn:
            cur = self._conn.execute(
                "UPDATE deliveries SET status = 'rejected', last_error = ?, updated = ?"
                " WHERE digest_id = ? AND lower(recipient) = lower(?) AND status = 'accepted'",
                (error, at, digest_id, recipient),
            )
        return cur.rowcount > 0

    def recent_digests(self, limit: int = 5) -> list[DigestRecord]:
        rows = self._conn.execute(
            "SELECT d.id, d.created, d.subject, d.article_count, d.status,"
            " sum(v.status = 'accepted'), count(v.recipient)"
            " FROM digests d LEFT JOIN deliveries v ON v.digest_id = d.id"
            " GROUP BY d.id ORDER BY d.id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            DigestRecord(
                int(i), datetime.fromisoformat(c), str(s), int(n), str(st), int(a or 0), int(r or 0)
            )
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
