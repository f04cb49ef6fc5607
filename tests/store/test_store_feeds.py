"""The feed tables of the state store on real SQLite files (digest.store, `Store.feeds`)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from test_store import V1_SCHEMA

from digest.store import DB_NAME, FeedPoll, Store

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NONE = timedelta(0)  # DIGEST_FEED_INTERVAL=0


def test_a_feed_is_added_once_and_removed_by_either_url(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    assert store.feeds.add("https://a.example.org/feed", "a-1", AT)
    assert not store.feeds.add("https://a.example.org/feed", "a-2", AT)
    (row,) = store.feeds.all()
    store.feeds.record_poll(row.id, FeedPoll(AT, None, 0, True, url="https://new.example.org/"))
    assert store.feeds.all()[0].url == "https://new.example.org/"
    assert store.feeds.remove("https://a.example.org/feed")  # as it was added
    assert store.feeds.all() == []
    store.close()


def test_due_feeds_are_active_ones_whose_time_has_come(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    for name in ("now", "later", "gone"):
        store.feeds.add(f"https://{name}.example.org/", name, AT)
    now, later, gone = store.feeds.all()
    store.feeds.record_poll(later.id, FeedPoll(AT, LATER, 0, True))
    store.feeds.record_poll(gone.id, FeedPoll(AT, None, 1, False, "410", gone=True))
    assert [r.slug for r in store.feeds.due(AT, NONE)] == ["now"]  # LATER: the server's max-age
    assert [r.slug for r in store.feeds.due(LATER, NONE)] == ["now", "later"]
    assert store.feeds.counts() == {"active": 2, "failing": 0, "gone": 1}
    store.close()


def test_a_shortened_interval_counts_from_the_next_look(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.feeds.add("https://a.example.org/", "a", AT)
    (row,) = store.feeds.all()
    store.feeds.record_poll(row.id, FeedPoll(AT, None, 0, True))  # polled, no max-age
    half_hour = AT + timedelta(minutes=30)
    assert store.feeds.due(half_hour, timedelta(hours=1)) == []
    assert [r.slug for r in store.feeds.due(half_hour, timedelta(minutes=15))] == ["a"]
    (row,) = store.feeds.all()
    assert row.next_due(timedelta(minutes=15)) == AT + timedelta(minutes=15)
    store.close()


def test_a_feed_refused_as_private_is_due_once_private_addresses_are_allowed(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path)
    store.feeds.add("https://a.example.org/", "a", AT)
    (row,) = store.feeds.all()
    refused = "a.example.org is 10.0.0.1; set DIGEST_ALLOW_PRIVATE_ADDRESSES=true to allow..."
    store.feeds.record_poll(row.id, FeedPoll(AT, LATER, 1, False, refused))  # backing off
    assert store.feeds.due(AT, NONE) == []
    assert [r.slug for r in store.feeds.due(AT, NONE, private_allowed=True)] == ["a"]
    store.close()


def test_a_failed_poll_keeps_the_validators_and_the_last_success(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.feeds.add("https://a.example.org/", "a", AT)
    (row,) = store.feeds.all()
    store.feeds.record_poll(row.id, FeedPoll(AT, None, 0, True, etag='"v1"', title="A"))
    store.feeds.record_poll(row.id, FeedPoll(LATER, None, 1, False, "HTTP 500"))
    (row,) = store.feeds.all()
    assert (row.etag, row.title, row.last_success, row.last_error, row.state) == (
        '"v1"',
        "A",
        AT,
        "HTTP 500",
        "failing",
    )
    store.close()


def test_entries_and_pages_are_remembered(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.feeds.add("https://a.example.org/", "a", AT)
    (row,) = store.feeds.all()
    store.feeds.record_entries(
        row.id, [("k1", "https://a.example.org/1", "s.json"), ("k2", None, None)], AT
    )
    assert store.feeds.seen(row.id, ["k1", "k2", "k3"]) == {"k1", "k2"}
    assert store.feeds.fetched_pages(["https://a.example.org/1", "https://x/"]) == {
        "https://a.example.org/1"
    }
    store.close()


def test_an_old_database_gets_the_feed_tables(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.executescript(V1_SCHEMA)
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    store = Store.open(tmp_path)
    assert store.feeds.add("https://a.example.org/", "a", AT)
    store.close()


def test_a_readonly_open_of_a_database_without_feed_tables_shows_none(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.executescript(V1_SCHEMA)
    conn.commit()
    conn.close()
    store = Store.open(tmp_path, readonly=True)
    assert store.feeds.all() == [] and store.feeds.count() == 0
    assert store.feeds.counts() == {"active": 0, "failing": 0, "gone": 0}
    store.close()
