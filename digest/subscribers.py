"""Subscriber preferences (MINIMAL stand-in by w-web: s-subs owns the real module).

Only the contract: `Preferences`, `parse_preferences` and `PreferenceError`.
The merged module of s-subs replaces this file whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.errors import DigestError

EVERY = ("daily", "weekly")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_AT = re.compile(r"^(\d{1,2}):(\d{2})$")


class PreferenceError(DigestError):
    """One preference has a value we cannot use; `.field` names it."""

    exit_code = 2

    def __init__(self, field: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.field = field


@dataclass(frozen=True)
class Preferences:
    """What one subscriber wants; the defaults are "everything, daily, on DIGEST_SCHEDULE"."""

    every: str = "daily"
    day: str | None = None
    at: str | None = None
    timezone: str | None = None
    sections: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_articles: int | None = None


def parse_preferences(fields: Mapping[str, str]) -> Preferences:
    """Preferences from text fields named as the CSV columns; an empty field is the default."""
    v = {k: (fields.get(k) or "").strip() for k in _FIELDS}
    return Preferences(
        every=_every(v["every"]),
        day=_day(v["day"]),
        at=_at(v["at"]),
        timezone=_timezone(v["timezone"]),
        sections=_words(v["sections"]),
        include=_words(v["include"]),
        exclude=_words(v["exclude"]),
        max_articles=_max(v["max"]),
    )


_FIELDS = ("every", "day", "at", "timezone", "sections", "include", "exclude", "max")


def _every(raw: str) -> str:
    if not raw:
        return "daily"
    if raw.lower() not in EVERY:
        raise PreferenceError("every", f"every={raw!r}: unknown cadence", "use daily or weekly")
    return raw.lower()


def _day(raw: str) -> str | None:
    if not raw:
        return None
    day = raw.lower()[:3]
    if day not in DAYS or not _is_day_name(raw.lower()):
        raise PreferenceError("day", f"day={raw!r}: not a day of the week", "use mon, tue ... sun")
    return day


def _is_day_name(raw: str) -> bool:
    names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    return any(name.startswith(raw) for name in names) and len(raw) >= 3


def _at(raw: str) -> str | None:
    if not raw:
        return None
    match = _AT.match(raw)
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise PreferenceError("at", f"at={raw!r}: not a time of day", "use HH:MM, 00:00 to 23:59")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _timezone(raw: str) -> str | None:
    if not raw:
        return None
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise PreferenceError(
            "timezone",
            f"timezone={raw!r}: unknown time zone",
            "use an IANA name such as Europe/Berlin",
        ) from None
    return raw


def _words(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(w.strip() for w in raw.split(",") if w.strip()))


def _max(raw: str) -> int | None:
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise PreferenceError("max", f"max={raw!r}: not a positive whole number", "e.g. max=10")
    return value
