"""digest.intake.feeds.politeness: when a feed is polled again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digest.intake.feeds.politeness import (
    Backlog,
    after_failure,
    asked_wait,
    max_age,
    parse_duration,
    retry_after,
    within_backlog,
)
from digest.store import FeedRow

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
QUARTER = timedelta(minutes=15)


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({}, QUARTER),
        ({"cache-control": "max-age=3600"}, timedelta(hours=1)),
        ({"cache-control": "public, s-maxage=10, max-age=60"}, QUARTER),  # shorter: interval wins
        ({"cache-control": "no-cache, max-age=7200"}, QUARTER),
        ({"cache-control": "max-age=999999999"}, timedelta(days=1)),  # capped
    ],
)
def test_after_success_a_feed_waits_the_interval_or_a_longer_max_age(
    headers: dict[str, str], wait: timedelta
) -> None:
    row = FeedRow(
        1,
        "u",
        "u",
        "s",
        None,
        NOW,
        "active",
        None,
        None,
        NOW,
        NOW,
        None,
        0,
        asked_wait(NOW, headers),
    )
    assert row.next_due(QUARTER) == NOW + wait


def test_failures_back_off_doubling_up_to_a_day() -> None:
    waits = [after_failure(NOW, QUARTER, n) - NOW for n in range(1, 10)]
    assert waits[:4] == [QUARTER, 2 * QUARTER, 4 * QUARTER, 8 * QUARTER]
    assert waits[-1] == timedelta(days=1)


def test_with_no_interval_a_failing_feed_still_waits_five_minutes_first() -> None:
    assert after_failure(NOW, timedelta(0), 1) == NOW + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("value", "wait"),
    [
        ("120", timedelta(minutes=2)),
        ("Tue, 01 Dec 2026 10:00:00 GMT", timedelta(hours=2)),
        ("Tue, 01 Dec 2026 07:00:00 GMT", timedelta(0)),  # in the past: now
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_reads_seconds_and_dates(value: str, wait: timedelta | None) -> None:
    assert retry_after({"retry-after": value}, NOW) == wait


def test_retry_after_sets_the_next_poll_after_a_failure() -> None:
    headers = {"retry-after": "7200"}
    assert after_failure(NOW, QUARTER, 1, headers) == NOW + timedelta(hours=2)
    assert after_failure(NOW, QUARTER, 1, {"retry-after": "5"}) == NOW + QUARTER


def test_max_age_ignores_garbage() -> None:
    assert max_age({"cache-control": "max-age=abc"}) is None


def test_the_backlog_keeps_recent_entries_and_the_newest_few() -> None:
    days = [0.1, 1, 2, 9, None, 3, 30]
    published = [None if d is None else NOW - timedelta(days=d) for d in days]
    assert within_backlog(published, NOW, Backlog(days=7, entries=3)) == [
        True,
        True,
        False,
        False,
        True,
        False,
        False,
    ]
    assert within_backlog(published, NOW, Backlog(days=7, entries=20)) == [
        True,
        True,
        True,
        False,
        True,
        True,
        False,
    ]
    assert within_backlog(published, NOW, Backlog(days=7, entries=0)) == [False] * 7


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("0", 0), ("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), (" 1.5m ", 90)],
)
def test_durations(raw: str, seconds: float) -> None:
    found = parse_duration(raw)
    assert found is not None and found.total_seconds() == seconds


@pytest.mark.parametrize("raw", ["", "m", "-5m", "15 minutes", "1w"])
def test_not_durations(raw: str) -> None:
    assert parse_duration(raw) is None
