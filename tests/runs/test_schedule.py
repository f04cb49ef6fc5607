"""Schedules: parsing, cron's weekdays, DST, readers' cadences; no clock, no waiting."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from digest.errors import DigestError, SettingsError
from digest.runs.schedule import Schedule, ScheduleError, next_fire, parse_schedule

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
    """Cron's DST rules applied minute by minute, independently of digest.runs.schedule.

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


@pytest.mark.slow
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


# --- readers' cadences: daily or weekly at a wall time in their zone, on the cron path


@pytest.mark.parametrize(
    ("schedule", "text", "words"),
    [
        (Schedule.daily_at("07:30", BERLIN), "30 7 * * *", "at 07:30"),
        (Schedule.daily_at(" 7:05 ", "UTC"), "5 7 * * *", "at 07:05"),
        (Schedule.daily_at("00:00", "UTC"), "0 0 * * *", "at 00:00"),
        (Schedule.weekly_on("mon", "07:30", NY), "30 7 * * mon", "at 07:30 on Monday"),
        (Schedule.weekly_on("Sunday", "23:59", NY), "59 23 * * sun", "at 23:59 on Sunday"),
        (Schedule.weekly_on(" SAT ", "6:00", NY), "0 6 * * sat", "at 06:00 on Saturday"),
    ],
)
def test_cadences_read_as_crontab_and_words(schedule: Schedule, text: str, words: str) -> None:
    assert (schedule.text, schedule.words) == (text, words)


def test_cadence_zone_may_be_a_name_a_zone_or_the_systems() -> None:
    assert Schedule.daily_at("07:00", BERLIN).zone == ZoneInfo(BERLIN)
    assert Schedule.daily_at("07:00", ZoneInfo(NY)).zone == ZoneInfo(NY)
    assert Schedule.daily_at("07:00", None).zone == parse_schedule("@daily", None).zone


def test_daily_at_fires_at_that_wall_time_each_day() -> None:
    schedule = Schedule.daily_at("07:30", BERLIN)
    start = datetime(2024, 1, 6, 8, 0, tzinfo=ZoneInfo(BERLIN))
    found = fires(schedule, start, start + timedelta(days=3))
    assert [f"{f:%Y-%m-%d %H:%M %Z}" for f in found] == [
        "2024-01-07 07:30 CET",
        "2024-01-08 07:30 CET",
        "2024-01-09 07:30 CET",
    ]


def test_weekly_on_fires_once_a_week_on_that_day() -> None:
    schedule = Schedule.weekly_on("wed", "18:00", NY)
    start = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
    found = fires(schedule, start, start + timedelta(days=21))
    assert [f"{f:%a %Y-%m-%d %H:%M %Z}" for f in found] == [
        "Wed 2024-01-03 18:00 EST",
        "Wed 2024-01-10 18:00 EST",
        "Wed 2024-01-17 18:00 EST",
    ]


@pytest.mark.parametrize(
    ("schedule", "start", "end", "expected"),
    [
        # spring forward in Berlin: 02:30 does not exist on 31 March; it runs as the gap ends
        (
            Schedule.daily_at("02:30", BERLIN),
            datetime(2024, 3, 30, tzinfo=ZoneInfo(BERLIN)),
            datetime(2024, 4, 2, tzinfo=ZoneInfo(BERLIN)),
            ["2024-03-30 02:30 CET", "2024-03-31 03:00 CEST", "2024-04-01 02:30 CEST"],
        ),
        # fall back in Berlin: 02:30 happens twice on 27 October; it runs the first time only
        (
            Schedule.daily_at("02:30", BERLIN),
            datetime(2024, 10, 26, tzinfo=ZoneInfo(BERLIN)),
            datetime(2024, 10, 29, tzinfo=ZoneInfo(BERLIN)),
            ["2024-10-26 02:30 CEST", "2024-10-27 02:30 CEST", "2024-10-28 02:30 CET"],
        ),
        # midnight does not exist in Santiago on 8 September; the next day is not skipped
        (
            Schedule.daily_at("00:00", "America/Santiago"),
            datetime(2024, 9, 7, 12, tzinfo=ZoneInfo("America/Santiago")),
            datetime(2024, 9, 10, 12, tzinfo=ZoneInfo("America/Santiago")),
            ["2024-09-08 01:00 -03", "2024-09-09 00:00 -03", "2024-09-10 00:00 -03"],
        ),
        # a weekly Sunday run across Berlin's spring-forward Sunday
        (
            Schedule.weekly_on("sun", "02:30", BERLIN),
            datetime(2024, 3, 20, tzinfo=ZoneInfo(BERLIN)),
            datetime(2024, 4, 10, tzinfo=ZoneInfo(BERLIN)),
            ["2024-03-24 02:30 CET", "2024-03-31 03:00 CEST", "2024-04-07 02:30 CEST"],
        ),
        # ... and New York's fall-back Sunday, where 01:30 comes twice
        (
            Schedule.weekly_on("sunday", "01:30", NY),
            datetime(2024, 10, 30, tzinfo=ZoneInfo(NY)),
            datetime(2024, 11, 14, tzinfo=ZoneInfo(NY)),
            ["2024-11-03 01:30 EDT", "2024-11-10 01:30 EST"],
        ),
    ],
)
def test_cadences_on_dst_days(
    schedule: Schedule, start: datetime, end: datetime, expected: list[str]
) -> None:
    assert [f"{f:%Y-%m-%d %H:%M %Z}" for f in fires(schedule, start, end)] == expected


def test_the_first_pass_of_a_repeated_hour_is_the_earlier_instant() -> None:
    found = fires(
        Schedule.daily_at("01:30", NY),
        datetime(2024, 11, 3, tzinfo=ZoneInfo(NY)),
        datetime(2024, 11, 4, tzinfo=ZoneInfo(NY)),
    )
    assert [utc(f) for f in found] == [datetime(2024, 11, 3, 5, 30, tzinfo=UTC)]


@pytest.mark.slow
@hypothesis_settings(max_examples=30, deadline=None)
@given(
    transition=st.sampled_from(TRANSITIONS),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    weekly=st.booleans(),
)
def test_cadences_match_the_cron_oracle_around_dst(
    transition: tuple[str, date], hour: int, minute: int, weekly: bool
) -> None:
    zone, day = transition
    start = local_day(zone, day - timedelta(days=1))[0] + timedelta(hours=18)
    end = local_day(zone, day + timedelta(days=1))[0] + timedelta(hours=6)
    at = f"{hour:02d}:{minute:02d}"
    if weekly:  # on the weekday of the transition itself
        schedule = Schedule.weekly_on(f"{day:%a}", at, zone)
    else:
        schedule = Schedule.daily_at(at, zone)
    expected = cron_oracle({minute}, {hour}, True, zone, start, end)
    if weekly:
        expected = [f for f in expected if f.astimezone(ZoneInfo(zone)).date() == day]
    assert [utc(f) for f in fires(schedule, start, end)] == expected


@pytest.mark.parametrize(
    ("build", "field", "value"),
    [
        (lambda: Schedule.daily_at("24:00", "UTC"), "at", "24:00"),
        (lambda: Schedule.daily_at("07:60", "UTC"), "at", "07:60"),
        (lambda: Schedule.daily_at("7.30", "UTC"), "at", "7.30"),
        (lambda: Schedule.daily_at("", "UTC"), "at", ""),
        (lambda: Schedule.weekly_on("funday", "07:00", "UTC"), "day", "funday"),
        (lambda: Schedule.weekly_on("1", "07:00", "UTC"), "day", "1"),
        (lambda: Schedule.weekly_on("mon", "7", "UTC"), "at", "7"),
        (lambda: Schedule.daily_at("07:00", "Mars/Olympus"), "timezone", "Mars/Olympus"),
    ],
)
def test_a_bad_cadence_names_the_field_and_the_fix(
    build: Callable[[], Schedule], field: str, value: str
) -> None:
    with pytest.raises(ScheduleError) as caught:
        build()
    assert (caught.value.field, caught.value.value) == (field, value)
    assert isinstance(caught.value, DigestError)
    message = str(caught.value)
    assert message.startswith(f"{field} {value!r}: ")
    assert any(hint in message for hint in ("e.g. 07:30", "use mon, tue", "IANA name"))
