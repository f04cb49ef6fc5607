"""Reader keys, the upgrade of a database from before them, and pending signups."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from digest.records import Consent, Preferences
from digest.store import DB_NAME, Store

NOW = datetime(2026, 3, 5, 7, 30, tzinfo=UTC)

# The subscribers table as schema 5 (the release before keys) made it.
SCHEMA_5_SUBSCRIBERS = """
CREATE TABLE subscribers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT,
    status TEXT NOT NULL,
    prefs TEXT NOT NULL,
    joined TEXT NOT NULL,
    watermark INTEGER NOT NULL,
    last_fire TEXT,
    bounce_floor INTEGER NOT NULL DEFAULT 0
);
INSERT INTO subscribers (email, status, prefs, joined, watermark)
VALUES ('old@example.org', 'active', '{}', '2026-01-01T00:00:00+00:00', 0),
       ('gone@example.org', 'active', '{}', '2026-01-01T00:00:00+00:00', 0);
PRAGMA user_version = 5;
"""


def test_a_removed_readers_id_given_again_does_not_answer_to_their_key(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        first = store.add_subscriber("mallory@example.org", None, Preferences(), NOW)
        assert first is not None
        old = store.subscriber(first)
        assert old is not None and len(old.key) >= 16
        store.remove_subscriber(first)
        second = store.add_subscriber("victim@example.org", None, Preferences(), NOW)
        assert second == first  # SQLite hands the id out again...
        assert store.claimed(first, old.key) is None  # ...but not the key
        assert store.claimed(first, None) is None  # nor a bare id
        victim = store.subscriber(first)
        assert victim is not None and store.claimed(first, victim.key) == victim


def test_readers_from_before_keys_keep_their_old_links_and_nobody_added_later_gets_them(
    tmp_path: Path,
) -> None:
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.executescript(SCHEMA_5_SUBSCRIBERS)
    conn.close()
    with Store.open(tmp_path) as store:
        old = store.subscriber_by_email("old@example.org")
        gone = store.subscriber_by_email("gone@example.org")
        assert old is not None and gone is not None and old.key and old.key != gone.key
        assert store.claimed(old.id, None) == old  # a link mailed before the upgrade
        assert store.claimed(old.id, old.key) == old  # and the new ones
        store.remove_subscriber(gone.id)
        again = store.add_subscriber("new@example.org", None, Preferences(), NOW)
        assert again == gone.id
        assert store.claimed(gone.id, None) is None  # gone's old link: not the new reader's
    with Store.open(tmp_path) as store:  # opening again changes no key
        assert store.subscriber_by_email("old@example.org") == old


def test_a_pending_signup_keeps_its_key_until_confirmed_then_starts_anew(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        first = store.request_signup("ann@example.org", "Ann", "World", "signup-1", NOW)
        again = store.request_signup("ann@example.org", "Ann B", "", "embed-2", NOW)
        assert (again.id, again.key) == (first.id, first.key)
        assert (again.name, again.sections, again.form) == ("Ann B", "", "embed-2")
        consent = Consent("2026-03-05T07:31:00+00:00", "192.0.2.1", "UA", again.form)
        reader_id = store.confirm_signup(again, consent, NOW)
        reader = store.subscriber(reader_id)
        assert reader is not None and reader.consent == consent and reader.name == "Ann B"
        later = store.request_signup("ann@example.org", None, "", "signup-1", NOW)
        assert later.id != first.id and later.key != first.key
        assert store.claimed_signup(first.id, first.key) is None


def test_pending_signups_expire_seven_days_after_their_last_mail(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        old = store.request_signup("ann@example.org", None, "", "signup-1", NOW)
        store.signup_mailed(old.id, NOW)
        store.request_signup(
            "ben@example.org", None, "", "signup-1", NOW + timedelta(days=7, seconds=1)
        )
        assert store.claimed_signup(old.id, old.key) is None


def test_requests_are_counted_per_client_within_the_window(tmp_path: Path) -> None:
    hour = timedelta(hours=1)
    with Store.open(tmp_path) as store:
        assert [store.count_request("a", NOW, hour) for _ in range(3)] == [1, 2, 3]
        assert store.count_request("b", NOW, hour) == 1
        assert store.count_request("a", NOW + hour + timedelta(seconds=1), hour) == 1
