"""Readers and their preferences: validation, the article filters, CSV in and out.

Plain values only; the state store keeps them and `fanout` sends to them.
Every field is given as text, as in the CSV columns and the command-line
options, and `parse_preferences` turns it into `Preferences` or one
`PreferenceError` naming the field and the fix.

Sections are free text: a section a reader asks for may only appear with a
later feed, so an unknown one is accepted; `unknown_sections` lets the CLI warn
when no article so far had it (a typo shows at once, the choice still stands).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from digest.errors import DigestError, SettingsError
from digest.records import Preferences, Subscriber
from digest.settings import parse_recipients

EVERY = ("daily", "weekly")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STATUSES = ("active", "paused", "unsubscribed", "bouncing")
PREFERENCE_COLUMNS = ("every", "day", "at", "timezone", "sections", "include", "exclude", "max")
COLUMNS = ("email", "name", *PREFERENCE_COLUMNS)
EXPORT_COLUMNS = (*COLUMNS, "status")  # `status` is read back on import: who left stays out
MAX_LIMIT = 10_000


class PreferenceError(DigestError):
    """One preference field has a value we cannot use; `.field` is its CSV column name."""

    def __init__(self, field: str, value: str, why: str, hint: str) -> None:
        super().__init__(f"{field}={value!r}: {why}", hint)
        self.field = field
        self.value = value
        self.why = why


def parse_preferences(fields: Mapping[str, str]) -> Preferences:
    """Preferences from text fields named as the CSV columns; empty or missing = the default."""
    f = {k: (v or "").strip() for k, v in fields.items()}
    day = _checked(_weekday, f["day"]) if f.get("day") else None
    every = _choice(f, "every", EVERY, "use daily or weekly") or ("weekly" if day else "daily")
    if day and every == "daily":
        raise PreferenceError("day", day, "a day is for weekly digests", "add every=weekly")
    return Preferences(
        every=every,
        day=day,
        at=_time(f.get("at", "")),
        timezone=_zone(f.get("timezone", "")),
        sections=split_list(f.get("sections", "")),
        include=split_list(f.get("include", "")),
        exclude=split_list(f.get("exclude", "")),
        max_articles=_limit(f.get("max", "")),
    )


def preference_fields(prefs: Preferences) -> dict[str, str]:
    """The text fields `parse_preferences` reads back into the same Preferences."""
    return {
        "every": prefs.every,
        "day": prefs.day or "",
        "at": prefs.at or "",
        "timezone": prefs.timezone or "",
        "sections": ",".join(prefs.sections),
        "include": ",".join(prefs.include),
        "exclude": ",".join(prefs.exclude),
        "max": "" if prefs.max_articles is None else str(prefs.max_articles),
    }


def split_list(raw: str) -> tuple[str, ...]:
    """Comma-separated items, trimmed, empty ones and repeats (any case) dropped."""
    seen: dict[str, str] = {}
    for item in raw.split(","):
        cleaned = " ".join(item.split())
        if cleaned:
            seen.setdefault(cleaned.casefold(), cleaned)
    return tuple(seen.values())


def _choice(f: Mapping[str, str], name: str, allowed: Sequence[str], hint: str) -> str | None:
    raw = f.get(name, "")
    if not raw:
        return None
    if raw.lower() not in allowed:
        raise PreferenceError(name, raw, f"unknown {name}", hint)
    return raw.lower()


# How a reader's day, time and zone are checked is digest.runs.schedule's (what `serve` will
# build from them); these are the words a form or a CSV line shows when one is wrong.
_PROBLEMS = {
    "day": ("unknown day", "use one of " + ", ".join(DAYS)),
    "at": ("not a time of day", "use HH:MM on a 24-hour clock, 00:00 to 23:59"),
    "timezone": ("unknown time zone", "use an IANA name like Europe/Paris"),
}


def _checked(check: Callable[[str], str], raw: str) -> str:
    from digest.runs.schedule import ScheduleError

    try:
        return check(raw)
    except ScheduleError as exc:
        why, hint = _PROBLEMS[exc.field]
        raise PreferenceError(exc.field, raw, why, hint) from None


def _weekday(raw: str) -> str:
    from digest.runs.schedule import (
        weekday,  # late: APScheduler only once a reader's cadence is read
    )

    return weekday(raw)


def _time_of_day(raw: str) -> str:
    from digest.runs.schedule import time_of_day

    hour, minute = time_of_day(raw)
    return f"{hour:02d}:{minute:02d}"


def _zone_name(raw: str) -> str:
    from digest.runs.schedule import zone_named

    zone_named(raw)
    return raw


def _time(raw: str) -> str | None:
    return _checked(_time_of_day, raw) if raw else None


def _zone(raw: str) -> str | None:
    return _checked(_zone_name, raw) if raw else None


def _limit(raw: str) -> int | None:
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LIMIT:
        raise PreferenceError(
            "max", raw, "not a number of articles", f"use a whole number from 1 to {MAX_LIMIT}"
        )
    return value


def check_email(raw: str) -> str:
    """The address itself, or PreferenceError (field "email") when it is not one."""
    try:
        (address,) = parse_recipients(raw.strip(), "email")
    except (SettingsError, ValueError):
        raise PreferenceError(
            "email", raw, "not an email address", "use a form like reader@example.org"
        ) from None
    return address


def check_status(raw: str) -> str:
    value = (raw or "active").strip().lower()
    if value not in STATUSES:
        raise PreferenceError("status", raw, "unknown status", "use " + ", ".join(STATUSES))
    return value


# --- filters --------------------------------------------------------------------------------


class Filterable(Protocol):
    """What the filters read of an article (sources.Article has it)."""

    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def section(self) -> str | None: ...


def matches(article: Filterable, prefs: Preferences) -> bool:
    """True when the article passes the reader's sections, include and exclude filters."""
    if prefs.sections:
        wanted = {s.casefold() for s in prefs.sections}
        if (article.section or "").casefold() not in wanted:
            return False
    if not prefs.include and not prefs.exclude:
        return True
    haystack = f"{article.title}\n{article.text}"
    if prefs.include and not _words(prefs.include).search(haystack):
        return False
    return not (prefs.exclude and _words(prefs.exclude).search(haystack))


@lru_cache(maxsize=1024)
def _words(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """Any of the phrases as whole words, any case; spaces in a phrase match any whitespace."""
    parts = (r"\s+".join(map(re.escape, p.split())) for p in phrases)
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def summary_lines(readers: Sequence[Subscriber]) -> tuple[str, ...]:
    """`digest status`'s lines about readers: counts by status, then who is bouncing."""
    if not readers:
        return ()
    counts = {k: sum(r.status == k for r in readers) for k in ("active", "paused", "bouncing")}
    lines = ["subscribers: " + ", ".join(f"{n} {k}" for k, n in counts.items())]
    bouncing = [r.email for r in readers if r.status == "bouncing"]
    if bouncing:
        lines.append(
            "  bouncing (run `digest subscribers resume EMAIL` once fixed): " + ", ".join(bouncing)
        )
    return tuple(lines)


def unknown_sections(prefs: Preferences, known: Iterable[str]) -> list[str]:
    """The sections asked for that no article so far had (for a warning, not a refusal)."""
    have = {k.casefold() for k in known}
    return [s for s in prefs.sections if s.casefold() not in have]


# --- CSV --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One usable CSV row."""

    line: int
    email: str
    name: str | None
    prefs: Preferences
    status: str = "active"


@dataclass(frozen=True)
class RowProblem:
    """One CSV row left out, and why, as one line."""

    line: int
    message: str


def read_csv(text: str) -> tuple[list[Row], list[RowProblem]]:
    """The usable rows of a subscriber CSV and one problem per row left out.

    Raises PreferenceError (field "header") when the header row is unusable:
    then no row can be read the way its author meant.
    """
    reader = csv.reader(io.StringIO(text))
    header = _header(next(reader, []))
    rows: list[Row] = []
    problems: list[RowProblem] = []
    first_line: dict[str, int] = {}
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        got = _row(line, header, values)
        if isinstance(got, RowProblem):
            problems.append(got)
        elif got.email.casefold() in first_line:
            seen = first_line[got.email.casefold()]
            problems.append(RowProblem(line, f"{got.email} repeats line {seen}; kept line {seen}"))
        else:
            first_line[got.email.casefold()] = line
            rows.append(got)
    return rows, problems


def _header(cells: list[str]) -> list[str]:
    names = [c.strip().lower() for c in cells]
    unknown = [n for n in names if n not in EXPORT_COLUMNS]
    if "email" not in names or unknown:
        what = f"unknown column {unknown[0]!r}" if unknown else "no email column"
        raise PreferenceError(
            "header", ",".join(cells), what, "the first row names columns: " + ",".join(COLUMNS)
        )
    return names


def _row(line: int, header: list[str], values: list[str]) -> Row | RowProblem:
    if len(values) > len(header):
        return RowProblem(line, f"{len(values)} fields but the header has {len(header)}")
    fields = dict(zip(header, values, strict=False))
    try:
        email = check_email(fields.get("email", ""))
        prefs = parse_preferences({k: v for k, v in fields.items() if k in PREFERENCE_COLUMNS})
        status = check_status(fields.get("status", ""))
    except PreferenceError as exc:
        return RowProblem(line, str(exc))
    name = " ".join(fields.get("name", "").split()) or None
    return Row(line, email, name, prefs, status)


def write_csv(subscribers: Iterable[Subscriber]) -> Iterator[str]:
    """The subscribers as CSV lines that `read_csv` reads back (header first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue()
    for s in subscribers:
        buffer.seek(0)
        buffer.truncate()
        fields = preference_fields(s.prefs)
        writer.writerow([s.email, s.name or "", *(fields[c] for c in PREFERENCE_COLUMNS), s.status])
        yield buffer.getvalue()
