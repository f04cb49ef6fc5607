"""The subscriber tables (see schema.py): readers, the arrival sequence, personal digests.

State grows with subscribers plus articles, never their product: each reader keeps a
watermark over `arrivals.seq` (everything at or below it was considered for them), and the
per-message `deliveries` rows say who got what. Bounces are counted from those rows too.
`SubscriberTables` is mixed into `Store`, so callers say `store.subscriber(id)`; this module
is the only SQL about readers.
"""

from __future__ import annotations

import functools
import hmac
import json
import secrets
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from digest.errors import StateError
from digest.readers.subscribers import STATUSES, parse_preferences, preference_fields
from digest.records import Arrival, Article, Consent, Preferences, Subscriber


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


_PLAIN_COLUMNS = (
    "s.id, s.email, s.name, s.status, s.prefs, s.joined, coalesce(s.token_key, ''),"
    " s.consent_at, s.consent_client, s.consent_agent, s.consent_form"
)
_SUBSCRIBER_COLUMNS = _PLAIN_COLUMNS + ", (SELECT max(v.updated)"
_SUBSCRIBER_COLUMNS += " FROM deliveries v WHERE v.recipient = s.email AND v.status = 'accepted')"


@functools.lru_cache(maxsize=1024)
def _preferences(stored: str) -> Preferences:
    """A reader's stored preferences, parsed once per distinct text (many readers share one)."""
    return parse_preferences(json.loads(stored))


def _subscriber_of(row: Sequence[Any]) -> Subscriber:
    i, email, name, status, prefs, joined, key, c_at, c_client, c_agent, c_form, last = row
    consent = Consent(c_at, c_client or "", c_agent or "", c_form or "") if c_at else None
    return Subscriber(
        int(i),
        str(email),
        name,
        str(status),
        _preferences(prefs),
        datetime.fromisoformat(joined),
        datetime.fromisoformat(last) if last else None,
        str(key),
        consent,
    )


def _nocase(email: str) -> str:
    """SQLite's NOCASE: ASCII letters folded, nothing else."""
    return email.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def new_key() -> str:
    """A reader's own random key, in each of their tokens (digest.readers.tokens)."""
    return secrets.token_urlsafe(12)


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
        consent: Consent | None = None,
    ) -> int | None:
        """Add a reader who gets what arrives from now on; None when the address is taken."""
        try:
            with self._conn:
                return self._insert_subscriber(email, name, prefs, joined, status, consent)
        except sqlite3.IntegrityError:
            return None

    def _insert_subscriber(
        self,
        email: str,
        name: str | None,
        prefs: Preferences,
        joined: datetime,
        status: str,
        consent: Consent | None,
    ) -> int:
        c = consent
        cur = self._conn.execute(
            "INSERT INTO subscribers (email, name, status, prefs, joined, watermark, token_key,"
            " consent_at, consent_client, consent_agent, consent_form)"
            " VALUES (?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) FROM arrivals), ?, ?, ?, ?, ?)",
            (
                email,
                name,
                status,
                json.dumps(preference_fields(prefs)),
                joined.isoformat(),
                new_key(),
                *((c.at, c.client, c.agent, c.form) if c else (None,) * 4),
            ),
        )
        return int(cur.lastrowid or 0)

    def claimed(self, subscriber_id: int, key: str | None) -> Subscriber | None:
        """The reader a token names, if it is theirs: their key, or a bare id from before keys.

        A removed reader's id goes to the next one added; their key does not, so an old
        link finds nobody.
        """
        found = self.subscriber(subscriber_id)
        if found is None:
            return None
        if key is None:
            rows = self._rows("SELECT legacy_tokens FROM subscribers WHERE id = ?", (found.id,))
            return found if rows and rows[0][0] else None
        return found if hmac.compare_digest(found.key.encode(), key.encode()) else None

    def edit_subscriber(self, subscriber_id: int, name: str | None, prefs: Preferences) -> None:
        """Change a reader's name and preferences (their place and tokens stay)."""
        with self._conn:
            self._conn.execute(
                "UPDATE subscribers SET name = ?, prefs = ? WHERE id = ?",
                (name, json.dumps(preference_fields(prefs)), subscriber_id),
            )

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
            f"SELECT {_PLAIN_COLUMNS}, a.last"
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

    def recipient_status(self, email: str) -> tuple[int, str, str, str | None] | None:
        """(id, status, key, name) of the reader with this address, read now.

        Read at send time: a POST may have just unsubscribed them.
        """
        return self.recipient_statuses([email]).get(email)

    def recipient_statuses(
        self, emails: Sequence[str]
    ) -> dict[str, tuple[int, str, str, str | None]]:
        """`recipient_status` of several addresses in one query, by the address as given."""
        if not emails:
            return {}
        rows = self._rows(
            "SELECT email, id, status, coalesce(token_key, ''), name FROM subscribers"
            f" WHERE email IN ({', '.join('?' * len(emails))})",
            list(emails),
        )
        # the column compares without ASCII case (COLLATE NOCASE): so does this lookup
        found = {_nocase(e): (int(i), str(s), str(k), n) for e, i, s, k, n in rows}
        return {e: found[_nocase(e)] for e in emails if _nocase(e) in found}

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

    def last_arrival(self) -> int:
        """The last place taken in the arrival sequence (0: none yet)."""
        rows = self._rows("SELECT coalesce(max(seq), 0) FROM arrivals")
        return int(rows[0][0]) if rows else 0

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
