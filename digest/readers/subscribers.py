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

from digest.errors import DigestError
from digest.records import Consent, Preferences, Subscriber
from digest.text import clean_text, one_line

EVERY = ("daily", "weekly")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STATUSES = ("active", "paused", "unsubscribed", "bouncing")
PREFERENCE_COLUMNS = ("every", "day", "at", "timezone", "sections", "include", "exclude", "max")
COLUMNS = ("email", "name", *PREFERENCE_COLUMNS)
# The double opt-in's record: when, from which client address and user agent, which form wording.
CONSENT_COLUMNS = ("consent_at", "consent_client", "consent_agent", "consent_form")
# `status` is read back on import (who left stays out), and so is the consent record.
EXPORT_COLUMNS = (*COLUMNS, "status", *CONSENT_COLUMNS)
MAX_LIMIT = 10_000
MAX_ADDRESS = 254  # RFC 5321: the longest path an SMTP server must accept
# A bare address as SMTP and the To: header both take it as it is: a dot-atom local part
# (RFC 5322, no quoted strings or comments) and a host name. ASCII only: without SMTPUTF8,
# smtplib cannot send to anything else.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_BARE_ADDRESS = re.compile(rf"^{_LOCAL}@{_HOST}(?:\.{_HOST})*$")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection);
# `export` puts a ' before such a cell and `import` takes it off again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class PreferenceError(DigestError):
    """One preference field has a value we cannot use; `.field` is its CSV column name."""

    def __init__(self, field: str, value: str, why: str, hint: str) -> None:
        super().__init__(f"{field}={value!r}: {why}", hint)
        self.field = field
        self.value = value
        self.why = why


def parse_preferences(fields: Mapping[str, str]) -> Preferences:
    """Preferences from text fields named as the CSV columns; empty or missing = the default."""
    f = {k: form_text(v or "") for k, v in fields.items()}
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


def form_text(raw: str) -> str:
    """Typed text made safe to store and print: no control characters, one line, trimmed.

    Terminal escapes typed into a form would otherwise reach the operator's terminal
    through `subscribers list`.
    """
    return one_line(clean_text(raw))


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
        raise PreferenceError(
            "max", raw, "not a number of articles", f"use a whole number from 1 to {MAX_LIMIT}"
        ) from None
    if value < 1:
        raise PreferenceError(
            "max",
            raw,
            "at least one full article is needed",
            "leave it empty for the usual number; to get no digest for a while, pause it",
        )
    if value > MAX_LIMIT:
        raise PreferenceError("max", raw, f"at most {MAX_LIMIT}", "use a smaller number")
    return value


def check_email(raw: str) -> str:
    """The bare address, or PreferenceError (field "email") saying why it cannot be sent to.

    Only what SMTP's envelope and the To: header carry identically is taken: no name or
    <brackets> (`Ann <ann@example.org>` next to `ann@example.org` would be two readers),
    no line breaks or control characters, ASCII only (non-ASCII needs SMTPUTF8).
    """
    address = raw.strip()
    if not address.isascii():
        raise PreferenceError(
            "email",
            raw,
            "not an ASCII address (sending to it needs SMTPUTF8, which digest does not use)",
            "use the reader's ASCII address, or the punycode (xn--) form of the domain",
        )
    if any(c < " " or c == "\x7f" for c in address):
        raise PreferenceError(
            "email", raw, "holds a line break or control character", "give the bare address"
        )
    if "<" in address or ">" in address or " " in address:
        raise PreferenceError(
            "email", raw, "not a bare address", "give only the address, e.g. ann@example.org"
        )
    if len(address) > MAX_ADDRESS or not _BARE_ADDRESS.match(address):
        raise PreferenceError(
            "email", raw, "not an email address", "use a form like reader@example.org"
        )
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
    consent: Consent | None = None


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
    end = reader.line_num
    for values in reader:
        line, end = end + 1, reader.line_num  # a row names the line it starts on
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
    fields = {k: _unquote_cell(v) for k, v in zip(header, values, strict=False)}
    try:
        email = check_email(fields.get("email", ""))
        prefs = parse_preferences({k: v for k, v in fields.items() if k in PREFERENCE_COLUMNS})
        status = check_status(fields.get("status", ""))
    except PreferenceError as exc:
        return RowProblem(line, str(exc))
    name = form_text(fields.get("name", "")) or None
    return Row(line, email, name, prefs, status, _consent(fields))


def _consent(fields: Mapping[str, str]) -> Consent | None:
    values = [form_text(fields.get(c, "")) for c in CONSENT_COLUMNS]
    return Consent(*values) if values[0] else None


def _unquote_cell(cell: str) -> str:
    """A cell as `export` meant it: its ' before a formula character taken off."""
    if cell.startswith("'") and cell[1:2] and cell[1:2] in _FORMULA_START:
        return cell[1:]
    return cell


def _quote_cell(cell: str) -> str:
    """A cell a spreadsheet shows as text: a ' before a leading formula character."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


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
        c = s.consent
        consent = [c.at, c.client, c.agent, c.form] if c else ["", "", "", ""]
        cells = [s.email, s.name or "", *(fields[k] for k in PREFERENCE_COLUMNS), s.status]
        writer.writerow([_quote_cell(cell) for cell in (*cells, *consent)])
        yield buffer.getvalue()
