"""Schedules: parse DIGEST_SCHEDULE, describe it in words, compute its fire times.

Pure: no clock, no state, no I/O. This is the only module that imports
APScheduler (and tzlocal, for the system's zone): its triggers compute fire
times, and `next_fire` corrects them where they differ from cron on DST days.
A schedule is written as DIGEST_SCHEDULE text (`parse_schedule`) or built from
a reader's cadence (`Schedule.daily_at`, `Schedule.weekly_on`), both on one
crontab path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import tzlocal
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digest.errors import DigestError, SettingsError

EXAMPLE = "e.g. DIGEST_SCHEDULE='0 7 * * mon-fri', '@daily' or '@every 30m'"
MAX_EVERY = timedelta(days=366)


MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
UNITS = {"s": ("second", 1), "m": ("minute", 60), "h": ("hour", 3600), "d": ("day", 86_400)}
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# crontab(5) numbers weekdays 0 (and 7) = Sunday ... 6 = Saturday. APScheduler 3
# numbers them 0 = Monday, so weekdays reach it by these names, never by number.
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
DAY_WORDS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

_EVERY = re.compile(r"@every\s*(\d{1,9})\s*([smhd])", re.IGNORECASE)
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")
_ELEMENT = re.compile(r"(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(\d{1,3}))?")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] stands for low + i


CRON_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, MONTHS),
    _Field("weekday", 0, 7, WEEKDAYS),
)


@dataclass(frozen=True)
class Schedule:
    """When digests go: APScheduler triggers plus what cron semantics need."""

    text: str
    zone: tzinfo
    words: str  # e.g. "at 07:00 on Monday–Friday"
    triggers: tuple[Any, ...] = ()  # cron: fires when any of them fires (day OR weekday)
    wall_triggers: tuple[Any, ...] = ()  # the same in UTC: wall-clock answers, no DST
    every: timedelta | None = None  # @every: this long after the previous run
    fixed_time: bool = False  # minute and hour set: an autumn hour that repeats fires once

    @classmethod
    def daily_at(cls, hhmm: str, zone: str | tzinfo | None = None) -> Schedule:
        """Every day at wall time `hhmm` ("07:30") in `zone` (IANA name; None: the system's).

        Built as the crontab "30 7 * * *", so DST days follow cron's rules (see `next_fire`).
        """
        hour, minute = time_of_day(hhmm)
        return _cron(f"{minute} {hour} * * *", zone_named(zone))

    @classmethod
    def weekly_on(cls, day: str, hhmm: str, zone: str | tzinfo | None = None) -> Schedule:
        """Every week on `day` ("mon" or "Monday") at wall time `hhmm` in `zone`."""
        hour, minute = time_of_day(hhmm)
        return _cron(f"{minute} {hour} * * {weekday(day)}", zone_named(zone))

    @property
    def zone_name(self) -> str:
        return str(getattr(self.zone, "key", None) or self.zone)

    def when(self, moment: datetime) -> str:
        """A fire time for people: local time, zone abbreviation and name."""
        local = moment.astimezone(self.zone)
        text = f"{local:%Y-%m-%d %H:%M:%S %Z}"
        return text if local.tzname() == self.zone_name else f"{text} ({self.zone_name})"


class ScheduleError(DigestError):
    """A cadence's day, time of day or time zone is not one; `field` names which."""

    def __init__(self, field: str, value: str, why: str, hint: str) -> None:
        super().__init__(f"{field} {value!r}: {why}", hint)
        self.field = field  # "day", "at" or "timezone"
        self.value = value


def zone_named(name: str | tzinfo | None) -> tzinfo:
    """The zone of an IANA name; None (or "") means the system's (TZ, or /etc/localtime)."""
    if isinstance(name, tzinfo):
        return name
    try:
        return ZoneInfo(name) if name else tzlocal.get_localzone()
    except (LookupError, ValueError, OSError) as exc:
        raise ScheduleError(
            "timezone",
            name or "(system zone)",
            "unknown time zone",
            "use an IANA name such as Europe/Berlin or UTC",
        ) from exc


def time_of_day(hhmm: str) -> tuple[int, int]:
    """(hour, minute) of a wall time written HH:MM on a 24-hour clock; ScheduleError if not."""
    match = _HHMM.fullmatch(hhmm.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ScheduleError("at", hhmm, "not a time of day", "write HH:MM, 24-hour, e.g. 07:30")
    return int(match[1]), int(match[2])


def weekday(day: str) -> str:
    """The crontab name ("mon") of a weekday written "mon", "Mon" or "Monday"."""
    key = day.strip().casefold()
    for short, name in zip(WEEKDAYS, DAY_WORDS, strict=True):
        if key in (short, name.casefold()):
            return short
    raise ScheduleError(
        "day", day, "not a day of the week", "use mon, tue, wed, thu, fri, sat or sun"
    )


def resolve_zone(name: str | None) -> tzinfo:
    """DIGEST_TIMEZONE as a zone; unset means the system's (TZ, or /etc/localtime)."""
    try:
        return zone_named(name)
    except ScheduleError as exc:
        raise SettingsError(
            "DIGEST_TIMEZONE",
            name or "(system zone)",
            "unknown time zone",
            "use an IANA name such as DIGEST_TIMEZONE=Europe/Berlin or UTC",
        ) from exc


def parse_schedule(text: str, timezone: str | None = None) -> Schedule:
    """Parse DIGEST_SCHEDULE in DIGEST_TIMEZONE (None: the system's) or raise SettingsError."""
    zone = resolve_zone(timezone)
    raw = " ".join(text.split())
    try:
        schedule = _every(raw, zone) if raw.lower().startswith("@every") else _cron(raw, zone)
    except ValueError as exc:
        raise SettingsError("DIGEST_SCHEDULE", text, str(exc), EXAMPLE) from exc
    if next_fire(schedule, datetime.now(UTC)) is None:
        raise SettingsError("DIGEST_SCHEDULE", text, "that date never comes", EXAMPLE)
    return schedule


def _every(raw: str, zone: tzinfo) -> Schedule:
    match = _EVERY.fullmatch(raw)
    if not match:
        raise ValueError("@every takes a whole number and one unit: s, m, h or d")
    count, (unit, seconds) = int(match[1]), UNITS[match[2].lower()]
    every = timedelta(seconds=count * seconds)
    if not timedelta(seconds=1) <= every <= MAX_EVERY:
        raise ValueError("the interval must be between 1 second and 366 days")
    return Schedule(raw, zone, f"every {count} {unit}{'' if count == 1 else 's'}", every=every)


def _cron(raw: str, zone: tzinfo) -> Schedule:
    expr = MACROS.get(raw.lower(), raw)
    if expr.startswith("@"):
        raise ValueError("unknown shortcut; use @hourly, @daily, @weekly, @monthly or @every")
    parts = expr.lower().split()
    if len(parts) != 5:
        raise ValueError(f"a crontab has 5 fields (minute hour day month weekday): {len(parts)}")
    sets = [_expand(part, field) for part, field in zip(parts, CRON_FIELDS, strict=True)]
    minute, hour, dom, month, dow = parts
    days = frozenset(d % 7 for d in sets[4])
    weekday = "*" if dow == "*" else ",".join(WEEKDAYS[d] for d in sorted(days))
    day = _listed(dom, sets[2])
    # crontab(5): when both day fields are restricted, either one matching is enough
    either = not dom.startswith("*") and not dow.startswith("*")
    variants = [(day, "*"), ("*", weekday)] if either else [(day, weekday)]
    common = {
        "minute": _listed(minute, sets[0]),
        "hour": _listed(hour, sets[1]),
        "month": _listed(month, sets[3]),
    }
    triggers = [
        tuple(CronTrigger(day=d, day_of_week=w, timezone=tz, **common) for d, w in variants)
        for tz in (zone, UTC)
    ]
    fixed = not minute.startswith("*") and not hour.startswith("*")
    words = _cron_words(parts, sets, days)
    return Schedule(raw, zone, words, triggers[0], triggers[1], fixed_time=fixed)


def _expand(text: str, field: _Field) -> frozenset[int]:
    """The values one crontab field means: lists, ranges, */steps and names."""
    values: set[int] = set()
    for part in text.split(","):
        match = _ELEMENT.fullmatch(part)
        if not match:
            raise ValueError(f"{field.name} {part!r} is not a number, name, range or step")
        span, step = match[1], int(match[2] or 1)
        if span == "*":
            first, last = field.low, field.high
        else:
            start, _, end = span.partition("-")
            first = _number(start, field)
            last = _number(end, field) if end else (field.high if match[2] else first)
        if step < 1 or first > last:
            raise ValueError(f"{field.name} {part!r} is an empty range")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _number(token: str, field: _Field) -> int:
    if token in field.names:
        return field.low + field.names.index(token)
    if not token.isdigit():
        raise ValueError(f"unknown {field.name} {token!r}")
    value = int(token)
    if not field.low <= value <= field.high:
        raise ValueError(f"{field.name} {value} is outside {field.low}-{field.high}")
    return value


def _listed(text: str, values: frozenset[int]) -> str:
    return "*" if text == "*" else ",".join(str(v) for v in sorted(values))


def _cron_words(parts: list[str], sets: list[frozenset[int]], days: frozenset[int]) -> str:
    minute, hour, dom, month, dow = parts
    minutes, hours = sorted(sets[0]), sorted(sets[1])
    if len(minutes) * len(hours) <= 4:
        when = "at " + ", ".join(f"{h:02d}:{m:02d}" for h in hours for m in minutes)
    elif len(hours) == 24 and len(minutes) == 60:
        when = "every minute"
    elif len(hours) == 24 and len(minutes) <= 6:
        when = "every hour at minute " + ", ".join(map(str, minutes))
    else:
        when = f"at minute {minute} of hour {hour}"
    on = [f"on day {dom} of the month"] if dom != "*" else []
    if dow != "*":
        on.append("every day" if len(days) == 7 else "on " + _day_words(days))
    joiner = " or " if not dom.startswith("*") and not dow.startswith("*") else " "
    text = " ".join([when, joiner.join(on)]) if on else when
    if month != "*":
        text += " in " + ", ".join(MONTHS[m - 1].title() for m in sorted(sets[3]))
    return text


def _day_words(days: frozenset[int]) -> str:
    """Weekdays Monday first; three or more in a row become a range (Monday–Friday)."""
    runs: list[list[int]] = []
    for pos in sorted((d - 1) % 7 for d in days):  # Monday = 0 ... Sunday = 6
        if runs and runs[-1][-1] == pos - 1:
            runs[-1].append(pos)
        else:
            runs.append([pos])

    def name(pos: int) -> str:
        return DAY_WORDS[(pos + 1) % 7]

    return ", ".join(
        f"{name(r[0])}–{name(r[-1])}" if len(r) >= 3 else ", ".join(map(name, r)) for r in runs
    )


# --- fire times: APScheduler computes, we fix up where it differs from cron


def next_fire(schedule: Schedule, after: datetime) -> datetime | None:
    """The first fire time strictly after `after` (aware), in the schedule's zone.

    On DST days this follows cron: a fixed time (minute and hour set) the
    clocks skip runs as the gap ends, and one that occurs twice runs the first
    time only; a wildcard schedule (minute or hour starting with "*") follows
    real time, skipping wall times that do not exist and running repeated ones
    twice. APScheduler 3.11's CronTrigger gets three of these wrong by itself:
    it returns skipped wall times as if they existed, runs a repeated fixed
    time twice, and, worse, adds the length of a day across the spring gap
    (`0 0 * * *` after midnight on the short day next fires two days later).
    So each trigger is asked twice: in the zone itself, which finds times in a
    repeated hour, and in wall-clock terms (the same fields, in UTC, which has
    no DST), which finds the rest; both answers are fixed up and the earlier
    one wins.
    """
    if schedule.every is not None:
        return _next_interval(schedule, schedule.every, after)
    found = [
        fire
        for zoned, wall in zip(schedule.triggers, schedule.wall_triggers, strict=True)
        for fire in (_by_zone(zoned, schedule, after), _by_wall(wall, schedule, after))
        if fire is not None
    ]
    return min(found, key=utc, default=None)


def _next_interval(schedule: Schedule, every: timedelta, after: datetime) -> datetime | None:
    # Anchored on `after`, the previous run: "@every 10m" is ten minutes after it.
    # Computed in UTC: two times in one zone compare by wall clock, which inside a
    # repeated autumn hour made IntervalTrigger return its start time forever.
    start = utc(after)
    trigger = IntervalTrigger(seconds=int(every.total_seconds()), start_date=start, timezone=UTC)
    fire: datetime | None = trigger.get_next_fire_time(None, _just_after(start, UTC))
    return fire.astimezone(schedule.zone) if fire is not None else None


def _by_zone(trigger: Any, schedule: Schedule, after: datetime) -> datetime | None:
    zone, moment = schedule.zone, after
    for _ in range(4):  # past a skipped time comes an ordinary one
        fire: datetime | None = trigger.get_next_fire_time(None, _just_after(moment, zone))
        if fire is None:
            return None
        local = utc(fire).astimezone(zone)
        if local.replace(tzinfo=None) != fire.replace(tzinfo=None):  # a wall time in a gap
            if schedule.fixed_time:
                return _gap_end(fire, zone)
        elif not (schedule.fixed_time and local.fold == 1):
            return local
        moment = local
    return None


def _by_wall(trigger: Any, schedule: Schedule, after: datetime) -> datetime | None:
    zone = schedule.zone
    wall = after.astimezone(zone).replace(tzinfo=UTC)
    for _ in range(200):  # inside a repeated hour, first passes may be behind `after`
        found: datetime | None = trigger.get_next_fire_time(None, wall + timedelta(microseconds=1))
        if found is None:
            return None
        wall = found
        fire = found.replace(tzinfo=zone, fold=0)  # a repeated wall time: its first pass
        local = utc(fire).astimezone(zone)
        if local.replace(tzinfo=None) != fire.replace(tzinfo=None):  # a wall time in a gap
            if not schedule.fixed_time:
                continue
            local = _gap_end(fire, zone)
        if utc(local) > utc(after):
            return local
    return None


def utc(moment: datetime) -> datetime:
    """Compare instants in UTC: aware times sharing a zone compare by wall clock, folds ignored."""
    return moment.astimezone(UTC)


def _just_after(moment: datetime, zone: tzinfo) -> datetime:
    return (moment.astimezone(UTC) + timedelta(microseconds=1)).astimezone(zone)


def _gap_end(fire: datetime, zone: tzinfo) -> datetime:
    """The instant the spring-forward gap holding wall time `fire` ends."""
    new_offset = fire.replace(fold=1).utcoffset()
    low = int(fire.replace(fold=1).timestamp())  # read with the new offset: before the jump
    high = int(fire.replace(fold=0).timestamp())  # read with the old offset: after it
    while high - low > 1:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == new_offset:
            high = mid
        else:
            low = mid
    return datetime.fromtimestamp(high, zone)
