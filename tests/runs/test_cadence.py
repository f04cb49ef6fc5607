"""Each reader's own schedule: defaults, zones, DST, catch-up, and the serve loop using it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SeedWriter
from helpers import FakeClock

from digest.readers.subscribers import parse_preferences
from digest.records import Preferences, Subscriber
from digest.runs.cadence import due_by_schedule, schedule_for
from digest.runs.schedule import parse_schedule
from digest.runs.serve import Service
from digest.settings import Settings, load_settings
from digest.store import Store

JOINED = datetime(2024, 3, 1, tzinfo=UTC)
TODAY = datetime(2024, 3, 4, 6, 0, tzinfo=UTC)


def reader(**fields: str) -> Subscriber:
    return Subscriber(1, "ann@example.org", None, "active", parse_preferences(fields), JOINED)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ("0 7 * * *", "UTC")),
        ({"timezone": "Asia/Tokyo"}, ("0 7 * * *", "Asia/Tokyo")),
        ({"at": "18:30"}, ("30 18 * * *", "UTC")),
        ({"every": "weekly"}, ("0 7 * * mon", "UTC")),
        (
            {"day": "fri", "at": "06:05", "timezone": "Europe/Paris"},
            ("5 6 * * fri", "Europe/Paris"),
        ),
    ],
)
def test_schedule_for(fields: dict[str, str], expected: tuple[str, str]) -> None:
    schedule = schedule_for(Settings(timezone="UTC"), parse_preferences(fields))
    assert (schedule.text, schedule.zone_name) == expected


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_due_at_their_own_time_in_their_zone() -> None:
    ann = reader(at="07:00", timezone="Europe/Paris")  # UTC+1 in March before the 31st
    settings = Settings(timezone="UTC")
    last = "2024-03-03T06:00:00+00:00"  # yesterday's 07:00 in Paris
    assert due_by_schedule(settings, at("2024-03-04T05:59:59+00:00"))(ann, last) == (False, None)
    is_due, fired = due_by_schedule(settings, at("2024-03-04T06:00:30+00:00"))(ann, last)
    assert is_due and fired is not None and at(fired) == at("2024-03-04T06:00:00+00:00")
    assert due_by_schedule(settings, at("2024-03-04T06:01:00+00:00"))(ann, fired) == (False, None)
    assert due_by_schedule(settings, at("2024-03-05T06:00:00+00:00"))(ann, fired)[0]


def test_missed_times_are_one_run_remembered_as_now() -> None:
    ann = reader(at="07:00", timezone="UTC")
    now = at("2024-03-10T12:00:00+00:00")
    is_due, fired = due_by_schedule(Settings(), now)(ann, "2024-03-04T07:00:00+00:00")
    assert is_due and fired is not None and at(fired) == now


def test_a_time_the_spring_gap_skips_runs_as_the_gap_ends() -> None:
    bob = reader(at="02:30", timezone="Europe/Paris")
    last = "2024-03-30T01:30:00+00:00"  # 02:30 CET on the 30th
    settings = Settings()
    assert not due_by_schedule(settings, at("2024-03-31T00:59:00+00:00"))(bob, last)[0]
    is_due, fired = due_by_schedule(settings, at("2024-03-31T01:00:10+00:00"))(bob, last)
    assert is_due and fired is not None and at(fired) == at("2024-03-31T03:00:00+02:00")


def test_weekly_reader_waits_for_their_day() -> None:
    cat = reader(day="fri", at="08:00", timezone="UTC")  # 2024-03-01 is a Friday
    settings = Settings()
    last = "2024-03-01T08:00:00+00:00"
    assert not due_by_schedule(settings, at("2024-03-07T09:00:00+00:00"))(cat, last)[0]
    assert due_by_schedule(settings, at("2024-03-08T08:00:00+00:00"))(cat, last)[0]


@pytest.mark.slow
def test_serve_sends_each_reader_at_their_time(tmp_path: Path, seeds: SeedWriter) -> None:
    body = (
        "The harbour will get a new ferry terminal by next summer, the port authority said."
        " Ferries to the islands will leave every half hour once it opens."
    )
    seeds("ferry.json", json.dumps({"title": "New ferry terminal", "text": body}))
    settings = load_settings(
        {"DIGEST_SETTLE_SECONDS": "0", "DIGEST_WORKERS": "1", "DIGEST_TIMEZONE": "UTC"}, None
    )
    store = Store.open(settings.state_dir)
    store.add_subscriber("ann@example.org", None, Preferences(at="07:00"), TODAY)
    store.add_subscriber(
        "bob@example.org", None, Preferences(at="07:00", timezone="America/New_York"), TODAY
    )
    store.close()
    clock = FakeClock(at("2024-03-04T06:59:00+00:00"))
    service = Service(settings, parse_schedule(settings.schedule, "UTC"), clock=clock)
    assert 0 < service.step() <= 0.5
    clock.now = at("2024-03-04T07:00:05+00:00")
    assert service.step() == 0.0  # ann's time: one run
    clock.now += timedelta(seconds=1)
    service.step()
    store = Store.open(settings.state_dir)
    got = {s.email: s.last_sent for s in store.subscribers()}
    store.close()
    assert got["ann@example.org"] is not None and got["bob@example.org"] is None
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
