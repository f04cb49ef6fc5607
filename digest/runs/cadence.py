"""Each reader's own schedule for `digest serve`: every/day/at/timezone, and who is due now.

A reader with no time of their own follows DIGEST_SCHEDULE (in their zone, or
DIGEST_TIMEZONE); one with `at` (and `day` for weekly) gets the crontab
"M H * * *" or "M H * * DAY" (`Schedule.daily_at`, `weekly_on`). Fire times come from
`schedule.next_fire`, so DST days behave as for DIGEST_SCHEDULE. Each reader keeps the
scheduled time last handled (`last_fire`), so a time missed while serve was
stopped is sent once at the next start, never replayed, as for the operator's
own schedule; the run lock is the same.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from digest.errors import DigestError, LockBusyError, path_error
from digest.readers import fanout
from digest.records import Preferences, Reporter, Subscriber
from digest.runs.schedule import Schedule, next_fire, parse_schedule
from digest.settings import Settings, path_settings
from digest.store import Store

log = logging.getLogger("digest")
NAP_SECONDS = 0.5  # as the scheduler's loop: how often the stop flag is looked at
RELOAD_SECONDS = 10.0  # readers added or changed meanwhile are seen this soon
RETRY_SECONDS = 30.0  # after a failed or skipped run, before due readers are tried again


def schedule_key(settings: Settings, prefs: Preferences) -> tuple[str, str, str, str | None]:
    """(kind, day, time, zone) of one reader's digests; kind "default" is DIGEST_SCHEDULE."""
    zone = prefs.timezone or settings.timezone
    if prefs.at is None and prefs.every == "daily":
        return "default", "", settings.schedule, zone
    if prefs.every == "weekly":
        return "weekly", prefs.day or "mon", prefs.at or "07:00", zone
    return "daily", "", prefs.at or "07:00", zone


@lru_cache(maxsize=256)
def _schedule(key: tuple[str, str, str, str | None]) -> Schedule:
    kind, day, text, zone = key
    if kind == "default":
        return parse_schedule(text, zone)
    if kind == "weekly":
        return Schedule.weekly_on(day, text, zone)
    return Schedule.daily_at(text, zone)


def schedule_for(settings: Settings, prefs: Preferences) -> Schedule:
    """The reader's schedule: their day, time and zone, else DIGEST_SCHEDULE (in their zone)."""
    return _schedule(schedule_key(settings, prefs))


@lru_cache(maxsize=4096)
def _next(key: tuple[str, str, str, str | None], after: datetime) -> datetime | None:
    fire = next_fire(_schedule(key), after)
    return None if fire is None else fire.astimezone(UTC)


def next_fire_for(settings: Settings, s: Subscriber, last_fire: str | None) -> datetime | None:
    """The reader's first scheduled time after the last one handled (or after they joined)."""
    after = datetime.fromisoformat(last_fire) if last_fire else s.joined
    return _next(schedule_key(settings, s.prefs), after.astimezone(UTC))


def due_by_schedule(settings: Settings, now: datetime) -> fanout.Due:
    """Readers whose scheduled time has come; on time it is remembered, late it is now."""

    def due(s: Subscriber, last_fire: str | None) -> tuple[bool, str | None]:
        fire = next_fire_for(settings, s, last_fire)
        if fire is None or fire > now:
            return False, None
        following = _next(schedule_key(settings, s.prefs), fire)
        on_time = following is not None and following > now
        return True, (fire if on_time else now).isoformat()

    return due


@dataclass(frozen=True)
class NextSend:
    """When an active reader's next digest is due (None: never), as people read it."""

    reader: Subscriber
    at: datetime | None
    when: str  # "2026-12-04 07:00:00 CET (Europe/Berlin)", or "never"


def next_sends(settings: Settings, store: Store) -> list[NextSend]:
    """Every active reader's next scheduled time, soonest first (the never-due last)."""
    marks = store.watermarks()
    found = []
    for s in store.subscribers():
        if s.status != "active":
            continue
        fire = next_fire_for(settings, s, marks.get(s.id, (0, None))[1])
        when = "never" if fire is None else schedule_for(settings, s.prefs).when(fire)
        found.append(NextSend(s, fire, when))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(found, key=lambda n: n.at or far)


def next_send_text(sends: list[NextSend], now: datetime) -> str:
    """The soonest send in a line: "<when> to ann@example.org (and 2 more)"; or why none."""
    if not sends or sends[0].at is None:
        return "none: no active reader"
    first = sends[0]
    same = sum(n.at == first.at for n in sends) - 1
    more = f" (and {same} more)" if same else ""
    if first.at is not None and first.at <= now:
        return f"due since {first.when} to {first.reader.email}{more}"
    return f"{first.when} to {first.reader.email}{more}"


class ReaderCadences:
    """The serve loop's part for subscribers: run when the first reader's time has come."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock
        self._loaded: datetime | None = None
        self._has = False
        self._next: datetime | None = None
        self._not_before: datetime | None = None

    def step(self, now: datetime) -> float | None:
        """Seconds to wait before looking again; None when there are no subscribers at all."""
        if self._loaded is None or (now - self._loaded).total_seconds() >= RELOAD_SECONDS:
            self._load(now)
        if not self._has:
            return None
        due_at = max(filter(None, (self._next, self._not_before)), default=None)
        if due_at is None:
            return NAP_SECONDS
        if due_at > now:
            return min((due_at - now).total_seconds(), NAP_SECONDS)
        ok = self._run(now)
        self._loaded = None  # watermarks and times moved: read them again
        self._not_before = None if ok else now + timedelta(seconds=RETRY_SECONDS)
        return 0.0 if ok else NAP_SECONDS

    def _load(self, now: datetime) -> None:
        store = Store.open(self.settings.state_dir, readonly=True)
        try:
            self._has = store.has_subscribers()
            readers = [s for s in store.subscribers() if s.status == "active"]
            marks = store.watermarks()
        finally:
            store.close()
        fires = (next_fire_for(self.settings, s, marks.get(s.id, (0, None))[1]) for s in readers)
        self._next = min(filter(None, fires), default=None)
        self._loaded = now

    def _run(self, now: datetime) -> bool:
        from digest.runs import run as pipeline

        began = time.monotonic()
        try:
            result = pipeline.run_once(
                self.settings,
                clock=self.clock,
                reporter=Reporter(log.warning),
                send_empty=self.settings.send_empty,
                due=due_by_schedule(self.settings, now),
            )
        except LockBusyError:
            log.warning("readers due: skipped, another digest run holds the lock and sends")
            return False
        except DigestError as exc:
            log.error("readers due: failed: %s", exc)
            return False
        except OSError as exc:  # a folder setting that cannot be used: named, and serve goes on
            log.error("readers due: failed: %s", path_error(exc, path_settings(self.settings)))
            return False
        level = logging.ERROR if result.errors else logging.INFO
        done = "; ".join(result.edition_lines()) or result.status.replace("-", " ")
        if result.errors:
            done += f", error: {result.errors[0]}"
        with Store.open(self.settings.state_dir, readonly=True) as store:
            upcoming = next_send_text(next_sends(self.settings, store), self.clock())
        took = time.monotonic() - began
        log.log(level, "readers due: %s; %.1f s; next send %s", done, took, upcoming)
        return not result.errors
