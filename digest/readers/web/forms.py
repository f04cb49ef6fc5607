"""The preferences form: its fields as text, and every field's error at once."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from functools import cache

from digest.readers.subscribers import DAYS, PreferenceError, parse_preferences
from digest.records import Preferences

FIELDS = ("sections", "include", "exclude", "max", "every", "day", "at", "timezone")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_CHOICES = tuple(zip(DAYS, WEEKDAYS, strict=True))  # the form's (value, label) pairs


def form_values(prefs: Preferences) -> dict[str, str]:
    """Preferences as the text fields of the form (the CSV columns)."""
    return {
        "sections": ", ".join(prefs.sections),
        "include": ", ".join(prefs.include),
        "exclude": ", ".join(prefs.exclude),
        "max": "" if prefs.max_articles is None else str(prefs.max_articles),
        "every": prefs.every,
        "day": prefs.day or "",
        "at": prefs.at or "",
        "timezone": prefs.timezone or "",
    }


def field_errors(posted: Mapping[str, str]) -> dict[str, str]:
    """Every field's error at once: each field is checked alone, then all together."""
    errors: dict[str, str] = {}
    for name in FIELDS:
        try:
            parse_preferences({name: posted.get(name, "")})
        except PreferenceError as exc:
            errors[exc.field or name] = _reason(exc, posted)
    if not errors:
        try:
            parse_preferences(posted)
        except PreferenceError as exc:  # a rule between fields, e.g. a day for weekly
            errors[exc.field] = _reason(exc, posted)
    return errors


def _reason(exc: PreferenceError, posted: Mapping[str, str]) -> str:
    """The error without its `at='25:00': ` prefix: the form shows the field and value."""
    text = str(exc).removeprefix(f"{exc.field}={posted.get(exc.field, '')!r}: ")
    return text[:1].upper() + text[1:]


@cache
def zones() -> tuple[str, ...]:
    """Every IANA zone name, for the suggestions of the zone field."""
    return tuple(sorted(zoneinfo.available_timezones()))
