"""The schedule: parsing, cron's weekdays, DST, and the serve loop with a fixed clock."""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from digest import pipeline, scheduler
from digest.config import Settings, load_settings
from digest.errors import SettingsError
from digest.lock import run_lock
from digest.scheduler import Schedule, Service, next_fire, parse_schedule
from digest.store import Store

NY, BERLIN = "America/New_York", "Europe/Berlin"


def fires(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """Every fire time in [start, end), found the way the loop finds them.

    Instants are compared in UTC: aware times in one zone compare by wall clock.
    """
    found: list[datetime] = []
    moment = start - timedelta(microseconds=1)
    while (fire := next_fire(schedule, moment)) is not None and utc(fire) < utc(end):
        found.append(fire)
        moment = fire
    return found


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def local_day(zone: str, day: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), start.time(), tzinfo=tz)


# --- parsing


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0 7 * * mon-fri", "at 07:00 on Monday–Friday"),
        ("  0  7 * *   1-5 ", "at 07:00 on Monday–Friday"),
        ("30 6,18 * * *", "at 06:30, 18:30"),
        ("*/15 * * * *", "every hour at minute 0, 15, 30, 45"),
        ("* * * * *", "every minute"),
        ("0 9 1 jan,jul *", "at 09:00 on day 1 of the month in Jan, Jul"),
        ("@hourly", "every hour at minute 0"),
        ("@daily", "at 00:00"),
        ("@weekly", "at 00:00 on Sunday"),
        ("@every 30s", "every 30 seconds"),
        ("@every 10m", "every 10 minutes"),
        ("@every 2h", "every 2 hours"),
        ("@every 1h", "every 1 hour"),
        ("@EVERY 45S", "every 45 seconds"),
    ],
)
def test_schedule_forms_parse_and_read_as_words(text: str, words: str) -> None:
    assert parse_schedule(text, "UTC").words == words


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0 7 * *", "5 fields"),
        ("0 7 * * * *", "5 fields"),
        ("61 * * * *", "minute 61 is outside 0-59"),
        ("0 24 * * *", "hour 24 is outside 0-23"),
        ("0 0 0 * *", "day of month 0 is outside 1-31"),
        ("0 0 * 13 *", "month 13 is outside 1-12"),
        ("* * * * 8", "weekday 8 is outside 0-7"),
        ("0 7 * * fri-mon", "empty range"),
        ("*/0 * * * *", "empty range"),
        ("0 7 * * funday", "unknown weekday"),
        ("L * * * *", "unknown minute"),
        ("0 7 * * mon-", "not a number, name, range or step"),
        ("0 0 30 2 *", "never comes"),
        ("@often", "unknown shortcut"),
        ("@every", "@every takes"),
        ("@every 5x", "@every takes"),
        ("@every 1h30m", "@every takes"),
        ("@every 0s", "between 1 second and 366 days"),
        ("@every 400d", "between 1 second and 366 days"),
    ],
)
def test_bad_schedule_is_one_line_with_the_value_and_an_example(text: str, why: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_schedule(text, "UTC")
    message = str(caught.value)
    assert message.startswith(f"DIGEST_SCHEDULE={text!r}: ")
    assert why in message
    assert "e.g. DIGEST_SCHEDULE='0 7 * * mon-fri'" in message
    assert "\n" not in message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "Europe"])
def test_unknown_time_zone_is_a_settings_error(zone: str) -> None:
    with pytest.raises(SettingsError, match="DIGEST_TIMEZONE=.*unknown time zone.*IANA"):
        parse_schedule("@daily", zone)


@pytest.mark.parametrize(
    ("text", "first_fire_utc"),
    [
        ("@daily", datetime(2024, 5, 31, 15, 0, tzinfo=UTC)),  # midnight in Tokyo
        ("0 7 * * *", datetime(2024, 5, 31, 22, 0, tzinfo=UTC)),
        ("@every 2h", datetime(2024, 5, 31, 14, 0, tzinfo=UTC)),  # counted from `after`
    ],
)
def test_time_zone_applies_to_every_form(text: str, first_fire_utc: datetime) -> None:
    schedule = parse_schedule(text, "Asia/Tokyo")
    fire = next_fire(schedule, datetime(2024, 5, 31, 12, 0, tzinfo=UTC))
    assert fire == first_fire_utc
    assert fire is not None and fire.tzinfo == ZoneInfo("Asia/Tokyo")


# --- weekdays mean what crontab(5) says: 0 and 7 are Sunday, 1-5 Monday to Friday

WEEKDAY_CASES = [
    ("1-5", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
    ("mon-fri", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
    ("0", {"Sun"}),
    ("7", {"Sun"}),
    ("0,7", {"Sun"}),
    ("sun", {"Sun"}),
    ("1", {"Mon"}),
    ("6", {"Sat"}),
    ("6,0", {"Sat", "Sun"}),
    ("6-7", {"Sat", "Sun"}),
    ("sat,sun", {"Sat", "Sun"}),
    ("5-7", {"Fri", "Sat", "Sun"}),
    ("1-5/2", {"Mon", "Wed", "Fri"}),
    ("*/2", {"Sun", "Tue", "Thu", "Sat"}),
    ("MON,Wed", {"Mon", "Wed"}),
    ("0-6", {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}),
    ("*", {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}),
]


@pytest.mark.parametrize(("field", "days"), WEEKDAY_CASES)
def test_weekday_field_means_what_cron_means(field: str, days: set[str]) -> None:
    schedule = parse_schedule(f"0 7 * * {field}", BERLIN)
    start = datetime(2024, 1, 1, tzinfo=ZoneInfo(BERLIN))  # a Monday
    found = fires(schedule, start, start + timedelta(days=14))
    assert {f"{f:%a}" for f in found} == days
    assert len(found) == 2 * len(days)
    assert all(f"{f:%H:%M}" == "07:00" for f in found)


def test_weekdays_1_to_5_skip_the_weekend_from_friday_evening() -> None:
    schedule = parse_schedule("0 7 * * 1-5", NY)
    friday_evening = datetime(2024, 1, 5, 18, 0, tzinfo=ZoneInfo(NY))
    assert next_fire(schedule, friday_evening) == datetime(2024, 1, 8, 7, 0, tzinfo=ZoneInfo(NY))


def test_sunday_zero_fires_every_minute_of_sunday_only() -> None:
    schedule = parse_schedule("* * * * 0", "UTC")
    saturday = datetime(2024, 1, 6, 12, 0, tzinfo=UTC)
    found = fires(schedule, saturday, saturday + timedelta(days=2))
    assert len(found) == 24 * 60
    assert {f"{f:%a}" for f in found} == {"Sun"}


def test_day_of_month_and_weekday_both_set_means_either() -> None:
    # crontab(5): "0 7 13 * fri" runs on the 13th and on every Friday
    schedule = parse_schedule("0 7 13 * fri", "UTC")
    october = datetime(2024, 10, 1, tzinfo=UTC)
    days = [f.day for f in fires(schedule, october, datetime(2024, 11, 1, tzinfo=UTC))]
    assert days == [4, 11, 13, 18, 25]


def test_a_starred_day_field_still_narrows_the_other() -> None:
    # a field starting with "*" counts as unrestricted, so the two are ANDed (as in cron)
    schedule = parse_schedule("0 7 */2 * mon", "UTC")
    october = datetime(2024, 10, 1, tzinfo=UTC)
    days = [f.day for f in fires(schedule, october, datetime(2024, 11, 1, tzinfo=UTC))]
    assert days == [7, 21]


# --- daylight saving time: fixed clock, no waiting


@pytest.mark.parametrize(
    ("zone", "text", "day", "expected"),
    [
        # spring forward: 02:00-03:00 does not exist; 02:30 fires once, as the gap ends
        (NY, "30 2 * * *", date(2024, 3, 10), ["03:00 EDT"]),
        (BERLIN, "30 2 * * *", date(2024, 3, 31), ["03:00 CEST"]),
        (BERLIN, "0 2 * * *", date(2024, 3, 31), ["03:00 CEST"]),
        # fall back: 01:30 (New York) and 02:30 (Berlin) happen twice; they fire once
        (NY, "30 1 * * *", date(2024, 11, 3), ["01:30 EDT"]),
        (BERLIN, "30 2 * * *", date(2024, 10, 27), ["02:30 CEST"]),
        (BERLIN, "0 7 * * *", date(2024, 10, 27), ["07:00 CET"]),
        # an ordinary day next to a transition is untouched
        (NY, "30 2 * * *", date(2024, 3, 11), ["02:30 EDT"]),
        (NY, "30 1 * * *", date(2024, 11, 4), ["01:30 EST"]),
    ],
)
def test_fixed_time_fires_once_on_dst_days(
    zone: str, text: str, day: date, expected: list[str]
) -> None:
    found = fires(parse_schedule(text, zone), *local_day(zone, day))
    assert [f"{f:%H:%M %Z}" for f in found] == expected


@pytest.mark.parametrize(
    ("zone", "text", "day", "count", "step"),
    [
        # hourly means every real hour: 23 on the short day, 25 on the long one
        (BERLIN, "@hourly", date(2024, 3, 31), 23, timedelta(hours=1)),
        (BERLIN, "@hourly", date(2024, 10, 27), 25, timedelta(hours=1)),
        (NY, "*/30 * * * *", date(2024, 11, 3), 50, timedelta(minutes=30)),
        (BERLIN, "@every 1h", date(2024, 10, 27), 25, timedelta(hours=1)),
    ],
)
def test_wildcard_hours_follow_real_time_on_dst_days(
    zone: str, text: str, day: date, count: int, step: timedelta
) -> None:
    start, end = local_day(zone, day)
    found = fires(parse_schedule(text, zone), start - step, end)
    instants = [utc(f) for f in found if utc(f) >= utc(start)]
    assert len(instants) == count
    assert all(b - a == step for a, b in zip(instants, instants[1:], strict=False))


TRANSITIONS = [
    (NY, date(2024, 3, 10)),
    (NY, date(2024, 11, 3)),
    (BERLIN, date(2024, 3, 31)),
    (BERLIN, date(2024, 10, 27)),
    ("Australia/Lord_Howe", date(2024, 4, 7)),  # a half-hour shift
    ("Australia/Lord_Howe", date(2024, 10, 6)),
    ("America/Santiago", date(2024, 9, 8)),  # midnight does not exist
    ("America/Santiago", date(2024, 4, 6)),  # 23:00-24:00 happens twice
]


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    transition=st.sampled_from(TRANSITIONS),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
)
def test_any_fixed_time_fires_exactly_once_a_day_around_dst(
    transition: tuple[str, date], hour: int, minute: int
) -> None:
    zone, day = transition
    start, _ = local_day(zone, day - timedelta(days=2))
    _, end = local_day(zone, day + timedelta(days=2))
    found = fires(parse_schedule(f"{minute} {hour} * * *", zone), start, end)
    per_day = Counter(f.date() for f in found)
    assert sorted(per_day) == [day + timedelta(days=n) for n in range(-2, 3)]
    assert set(per_day.values()) == {1}
    for fire in found:
        wall = (fire.hour, fire.minute)
        if wall != (hour, minute):  # only when that wall time did not exist that day
            assert fire.date() == day
            assert fire.fold == 0 and fire == fire.astimezone(UTC).astimezone(ZoneInfo(zone))


def cron_oracle(
    minutes: set[int], hours: set[int], fixed: bool, zone: str, start: datetime, end: datetime
) -> list[datetime]:
    """Cron's DST rules applied minute by minute, independently of the scheduler.

    A wall time that matches fires; a repeated one fires on its second pass only
    for wildcard schedules; for fixed ones, matching wall times the clocks
    skipped fire at the first minute after the jump.
    """
    tz, found = ZoneInfo(zone), []
    instant, previous = utc(start).replace(second=0, microsecond=0), None
    while instant < utc(end):
        local = instant.astimezone(tz)
        wall = local.replace(tzinfo=None)
        skipped: list[datetime] = []
        if previous is not None and wall - previous > timedelta(minutes=1):
            skipped = [
                previous + timedelta(minutes=k) for k in range(1, (wall - previous).seconds // 60)
            ]
        matches = [w for w in [wall] if w.minute in minutes and w.hour in hours]
        if (matches and (local.fold == 0 or not fixed)) or (
            fixed and any(w.minute in minutes and w.hour in hours for w in skipped)
        ):
            found.append(instant)
        instant, previous = instant + timedelta(minutes=1), wall
    return found


MINUTE_FIELDS = st.one_of(
    st.integers(0, 59).map(lambda m: (str(m), {m}, True)),
    st.sampled_from([10, 15, 20, 30]).map(lambda k: (f"*/{k}", set(range(0, 60, k)), False)),
)
HOUR_FIELDS = st.one_of(
    st.integers(0, 23).map(lambda h: (str(h), {h}, True)),
    st.tuples(st.integers(0, 22), st.integers(1, 4)).map(
        lambda a: (
            f"{a[0]}-{min(a[0] + a[1], 23)}",
            set(range(a[0], min(a[0] + a[1], 23) + 1)),
            True,
        )
    ),
    st.just(("*", set(range(24)), False)),
    st.sampled_from([2, 3]).map(lambda k: (f"*/{k}", set(range(0, 24, k)), False)),
)


@hypothesis_settings(max_examples=40, deadline=None)
@given(transition=st.sampled_from(TRANSITIONS), minute=MINUTE_FIELDS, hour=HOUR_FIELDS)
def test_fire_times_match_a_minute_by_minute_cron_oracle_around_dst(
    transition: tuple[str, date],
    minute: tuple[str, set[int], bool],
    hour: tuple[str, set[int], bool],
) -> None:
    zone, day = transition
    start = local_day(zone, day - timedelta(days=1))[0] + timedelta(hours=18)
    end = local_day(zone, day + timedelta(days=1))[0] + timedelta(hours=6)
    schedule = parse_schedule(f"{minute[0]} {hour[0]} * * *", zone)
    expected = cron_oracle(minute[1], hour[1], minute[2] and hour[2], zone, start, end)
    assert [utc(f) for f in fires(schedule, start, end)] == expected


def test_next_fire_is_strictly_after() -> None:
    schedule = parse_schedule("0 7 * * *", "UTC")
    seven = datetime(2024, 1, 2, 7, 0, tzinfo=UTC)
    assert next_fire(schedule, seven) == seven + timedelta(days=1)
    assert next_fire(schedule, seven - timedelta(microseconds=1)) == seven


# --- the loop, with a fixed clock and a stand-in run


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


T0 = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


def service(
    tmp_path: Path, text: str, clock: FakeClock, runs: list[datetime], took: float = 0.0
) -> Service:
    def run() -> tuple[int, str]:
        runs.append(clock.now)
        clock.now += timedelta(seconds=took if len(runs) == 1 else 0)  # only the first is slow
        return logging.INFO, "sent"

    settings = Settings(state_dir=tmp_path / "state")
    return Service(settings, parse_schedule(text, "UTC"), clock=clock, run=run)


def saved_last_run(tmp_path: Path) -> datetime | None:
    store = Store.open(tmp_path / "state", readonly=True)
    try:
        return scheduler.last_run(store)
    finally:
        store.close()


def test_first_start_waits_for_the_schedule_and_records_a_baseline(tmp_path: Path) -> None:
    clock, runs = FakeClock(T0), []
    svc = service(tmp_path, "@every 10s", clock, runs)
    svc.start()
    assert saved_last_run(tmp_path) == T0
    assert svc.step() == scheduler.NAP_SECONDS
    clock.now = T0 + timedelta(seconds=9.9)
    assert svc.step() == pytest.approx(0.1)
    assert runs == []
    clock.now = T0 + timedelta(seconds=10.2)
    assert svc.step() == 0.0
    assert runs == [T0 + timedelta(seconds=10.2)]


def test_restart_after_many_missed_runs_runs_once_then_keeps_the_schedule(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock, runs = FakeClock(T0), []
    service(tmp_path, "@every 10s", clock, runs).start()  # first start, then "stopped"
    clock.now = T0 + timedelta(hours=1, seconds=3)  # 360 fire times went by
    svc = service(tmp_path, "@every 10s", clock, runs)
    with caplog.at_level(logging.INFO, logger="digest"):
        svc.start()
        assert svc.step() == 0.0
    assert "was missed while stopped: running it now" in caplog.text
    assert "run due 2024-01-01 12:00:10 UTC: sent" in caplog.text
    assert runs == [clock.now]
    assert svc.step() > 0  # coalesced: nothing replayed
    assert runs == [clock.now]
    assert saved_last_run(tmp_path) == clock.now
    clock.now += timedelta(seconds=10)
    svc.step()
    assert len(runs) == 2


def test_restart_before_the_due_time_does_not_run(tmp_path: Path) -> None:
    clock, runs = FakeClock(T0), []
    service(tmp_path, "0 13 * * *", clock, runs).start()
    clock.now = T0 + timedelta(minutes=59)
    svc = service(tmp_path, "0 13 * * *", clock, runs)
    svc.start()
    assert svc.step() == scheduler.NAP_SECONDS
    clock.now = T0 + timedelta(hours=1)
    svc.step()
    assert runs == [T0 + timedelta(hours=1)]


def test_runs_on_time_keep_the_beat_without_drift(tmp_path: Path) -> None:
    clock, runs = FakeClock(T0), []
    svc = service(tmp_path, "@every 10s", clock, runs)
    svc.start()
    for n in range(1, 4):
        clock.now = T0 + timedelta(seconds=10 * n + 0.4)  # the loop wakes a little late
        svc.step()
    assert saved_last_run(tmp_path) == T0 + timedelta(seconds=30)
    assert next_fire(svc.schedule, svc.last) == T0 + timedelta(seconds=40)


def test_a_run_longer_than_the_interval_is_followed_by_one_run_not_a_backlog(
    tmp_path: Path,
) -> None:
    clock, runs = FakeClock(T0), []
    svc = service(tmp_path, "@every 10s", clock, runs, took=35.0)
    svc.start()
    clock.now = T0 + timedelta(seconds=10)
    svc.step()  # takes 35 s: three fire times pass meanwhile
    assert svc.step() == 0.0  # one more at once...
    assert svc.step() > 0  # ...then back to waiting
    assert len(runs) == 2


def test_clock_set_back_does_not_stall_the_schedule(tmp_path: Path) -> None:
    clock, runs = FakeClock(T0), []
    svc = service(tmp_path, "@every 10s", clock, runs)
    svc.start()
    clock.now = T0 - timedelta(hours=1)
    assert svc.step() <= scheduler.NAP_SECONDS
    clock.now += timedelta(seconds=10)
    svc.step()
    assert runs == [T0 - timedelta(hours=1) + timedelta(seconds=10)]


def test_a_busy_lock_skips_the_scheduled_run_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "LOCK_WAIT_SECONDS", 0.2)
    settings = Settings(state_dir=tmp_path / "state")
    svc = Service(settings, parse_schedule("@every 1s", "UTC"))
    with run_lock(settings.state_dir):
        level, text = svc._run_digest()
    assert level == logging.WARNING
    assert text == "skipped: another digest run holds the lock and sends"


# --- what `digest status` shows, and the settings the scheduler reads


def test_status_line_shows_the_next_run_or_the_bad_setting() -> None:
    now = datetime(2024, 1, 5, 12, 0, tzinfo=UTC)  # a Friday
    good = Settings(schedule="0 7 * * mon-fri", timezone=BERLIN)
    expected = "2024-01-08 07:00:00 CET (Europe/Berlin), at 07:00 on Monday–Friday"
    assert scheduler.next_run_text(good, now, now) == expected
    assert scheduler.next_run_text(good, None, now).endswith("once `digest serve` runs")
    overdue = scheduler.next_run_text(good, now - timedelta(days=7), now)
    assert overdue.startswith("overdue since 2024-01-01 07:00:00 CET")  # Monday after
    bad = Settings(schedule="0 7 * * 1-8")
    assert scheduler.next_run_text(bad, None, now).startswith(
        "none: DIGEST_SCHEDULE='0 7 * * 1-8': weekday 8 is outside 0-7"
    )


def test_last_run_is_none_in_a_read_only_database_older_than_the_meta_table(
    tmp_path: Path,
) -> None:
    (tmp_path / "state").mkdir()
    sqlite3.connect(tmp_path / "state" / "state.sqlite3").execute("CREATE TABLE x (y)").close()
    assert saved_last_run(tmp_path) is None


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, False), ("true", True), ("YES", True), ("0", False)]
)
def test_send_empty_setting(raw: str | None, expected: bool) -> None:
    environ = {} if raw is None else {"DIGEST_SEND_EMPTY": raw}
    assert load_settings(environ, None).send_empty is expected


def test_send_empty_refuses_other_words() -> None:
    with pytest.raises(SettingsError, match="DIGEST_SEND_EMPTY='maybe': not true or false"):
        load_settings({"DIGEST_SEND_EMPTY": "maybe"}, None)
