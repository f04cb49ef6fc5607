"""The state store on real SQLite files: queue, per-recipient records, lock, migration."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from digest.errors import LockBusyError, StateError
from digest.runs.lock import run_lock
from digest.store import DB_NAME, SCHEMA_VERSION, Store

V1_SCHEMA = """
CREATE TABLE articles (id TEXT PRIMARY KEY, path TEXT NOT NULL, title TEXT NOT NULL,
    digest_id INTEGER NOT NULL REFERENCES digests(id));
CREATE TABLE digests (id INTEGER PRIMARY KEY, created TEXT NOT NULL, subject TEXT NOT NULL,
    eml_path TEXT NOT NULL, article_count INTEGER NOT NULL, status TEXT NOT NULL);
CREATE TABLE deliveries (digest_id INTEGER NOT NULL REFERENCES digests(id),
    recipient TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT, updated TEXT, PRIMARY KEY (digest_id, recipient));
CREATE TABLE skipped (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    reason TEXT NOT NULL, at TEXT NOT NULL);
INSERT INTO digests VALUES (1, '2026-01-01T07:00:00+00:00', 'old', 'outbox/a.eml', 1, 'sent');
INSERT INTO articles VALUES ('abc', 'seeds/a.txt', 'A', 1);
"""


def queue(store: Store, ids: tuple[str, ...] = ("a1",), to: tuple[str, ...] = ("x@y.z",)) -> int:
    return store.queue_digest(
        created=datetime.fromisoformat("2026-11-26T07:00:00+00:00"),
        subject="News",
        eml_path=Path("outbox/d.eml"),
        articles=[(i, f"seeds/{i}.txt", i.upper()) for i in ids],
        recipients=to,
    )


def test_queued_until_every_recipient_is_settled(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    digest_id = queue(store, ("a1", "a2"), ("ann@x.org", "bob@x.org", "cy@x.org"))
    assert store.sent_ids(["a1", "a2", "zz"]) == {"a1", "a2"}
    store.mark_deliveries(digest_id, [("ann@x.org", "accepted", None)], "t1")
    store.mark_deliveries(digest_id, [("bob@x.org", "pending", "451 busy")], "t1")
    store.mark_deliveries(digest_id, [("cy@x.org", "rejected", "550 no user")], "t1")
    (waiting,) = store.queued()
    assert waiting.pending == ("bob@x.org",)
    store.mark_deliveries(digest_id, [("bob@x.org", "accepted", None)], "t2")
    assert store.queued() == []
    (record,) = store.recent_digests()
    assert (record.status, record.accepted, record.recipients) == ("sent", 2, 3)


def test_all_rejected_is_failed_not_queued(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    digest_id = queue(store)
    store.mark_deliveries(digest_id, [("x@y.z", "rejected", "550")], "t")
    assert store.queued() == []
    assert store.recent_digests()[0].status == "failed"


def test_skipped_is_remembered_per_file_version(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.record_skipped(
        Path("seeds/bad.txt"),
        10,
        111,
        "empty file",
        datetime.fromisoformat("2026-11-26T07:00:00+00:00"),
    )
    assert store.is_skipped(Path("seeds/bad.txt"), 10, 111)
    assert not store.is_skipped(Path("seeds/bad.txt"), 12, 222)  # changed: try again


def test_readonly_open_creates_nothing(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "state", readonly=True)
    assert store.queued() == []
    store.close()
    assert not (tmp_path / "state").exists()


def test_first_release_database_is_migrated_not_rejected(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.executescript(V1_SCHEMA)
    conn.close()
    store = Store.open(tmp_path)
    assert store.sent_ids(["abc"]) == {"abc"}  # history kept: nothing is resent
    store.set_meta("last_run", "x")
    assert store.get_meta("last_run") == "x"
    store.close()
    version = sqlite3.connect(tmp_path / DB_NAME).execute("PRAGMA user_version").fetchone()
    assert version[0] == SCHEMA_VERSION


def test_read_only_open_of_a_first_release_database_sees_every_table_and_changes_nothing(
    tmp_path: Path,
) -> None:
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.executescript(V1_SCHEMA)
    conn.close()
    before = (tmp_path / DB_NAME).read_bytes()
    with Store.open(tmp_path, readonly=True) as store:
        assert store.sent_ids(["abc", "new"]) == {"abc"}
        assert store.get_meta("last_run") is None
        assert store.recent_sketches(datetime.fromisoformat("2000-01-01T00:00:00+00:00")) == []
        assert store.sent_files() == set() and store.file_count() == 0
        assert store.cached_summaries(["abc"], "news", 3, "0.1.0+1") == {}
    assert (tmp_path / DB_NAME).read_bytes() == before
    version = sqlite3.connect(tmp_path / DB_NAME).execute("PRAGMA user_version").fetchone()
    assert version[0] == 0


def test_database_from_a_newer_release_is_refused_in_one_line(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StateError, match="newer digest"):
        Store.open(tmp_path)
    with pytest.raises(StateError, match="newer digest"):
        Store.open(tmp_path, readonly=True)


def test_garbage_database_file_is_a_state_error(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="DIGEST_STATE_DIR"):
        Store.open(tmp_path)


def test_lock_lets_one_in(tmp_path: Path) -> None:
    with run_lock(tmp_path):
        with pytest.raises(LockBusyError), run_lock(tmp_path, wait=0.2):
            pass
    with run_lock(tmp_path):  # released on exit
        pass


def test_sketches_of_sent_articles_are_kept_and_read_back_by_date(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.queue_digest(
        created=datetime.fromisoformat("2026-11-20T07:00:00+00:00"),
        subject="News",
        eml_path=Path("outbox/d.eml"),
        articles=[("a1", "seeds/a1.txt", "A1")],
        recipients=("x@y.z",),
        sketches=[("a1", b"\x01\x02", 7)],
    )
    assert store.recent_sketches(datetime.fromisoformat("2026-11-19T00:00:00+00:00")) == [
        ("a1", b"\x01\x02", 7)
    ]
    assert store.recent_sketches(datetime.fromisoformat("2026-11-21T00:00:00+00:00")) == []


def test_copies_left_out_count_as_sent(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.record_repeats(
        [("c1", "seeds/copy.txt", "Copy")], datetime.fromisoformat("2026-11-26T07:00:00+00:00")
    )
    assert store.sent_ids(["c1", "c2"]) == {"c1"}
    store.close()
    readonly = Store.open(tmp_path, readonly=True)
    assert readonly.sent_ids(["c1"]) == {"c1"}
    readonly.close()


def test_sketches_older_than_a_moment_are_pruned_and_newer_ones_kept(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    for day, aid in ((10, "old"), (20, "new")):
        store.queue_digest(
            created=datetime.fromisoformat(f"2026-11-{day}T07:00:00+00:00"),
            subject="News",
            eml_path=Path(f"outbox/{aid}.eml"),
            articles=[(aid, f"seeds/{aid}.txt", aid)],
            recipients=("x@y.z",),
            sketches=[(aid, b"\x01\x02", 7)],
        )
    assert store.prune_sketches(datetime.fromisoformat("2026-11-15T00:00:00+00:00")) == 1
    since_ever = datetime.fromisoformat("2000-01-01T00:00:00+00:00")
    assert store.recent_sketches(since_ever) == [("new", b"\x01\x02", 7)]
    assert store.sent_ids(["old", "new"]) == {"old", "new"}  # only the sketch goes
    store.close()
