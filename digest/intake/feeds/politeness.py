"""When to poll a feed again: the politeness rules, as pure functions of headers and time.

A success waits DIGEST_FEED_INTERVAL, or longer when `Cache-Control: max-age`
asks; `429`/`503` wait their `Retry-After`; other failures back off, doubling
per failure in a row, capped at a day. `410 Gone` ends polling for good.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_WAIT = timedelta(days=1)  # no header or backoff puts a feed further off than this
BACKOFF_BASE = timedelta(minutes=5)  # the first retry after a failure, when the interval is shorter
THROTTLED = frozenset({429, 503})
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d+)", re.I)


@dataclass(frozen=True)
class Backlog:
    """How much of a newly added feed's list counts as new (DIGEST_FEED_BACKLOG_*)."""

    days: int = 7
    entries: int = 20


def asked_wait(now: datetime, headers: Mapping[str, str]) -> datetime | None:
    """After a 200 or 304, the moment the server's `max-age` asks us to wait for; None: no ask.

    What the state keeps: the interval is added when the feed is looked at
    (`FeedRow.next_due`), so a changed DIGEST_FEED_INTERVAL counts from the next run on.
    """
    asked = max_age(headers)
    return now + min(asked, MAX_WAIT) if asked else None


def after_failure(
    now: datetime, interval: timedelta, failures: int, headers: Mapping[str, str] | None = None
) -> datetime:
    """The next poll after the `failures`-th failure in a row (Retry-After wins when given)."""
    asked = retry_after(headers or {}, now)
    if asked is not None:
        return now + min(max(asked, interval), MAX_WAIT)
    base = max(interval, BACKOFF_BASE)
    doubled = base * (1 << min(max(failures - 1, 0), 16))
    return now + min(doubled, MAX_WAIT)


def max_age(headers: Mapping[str, str]) -> timedelta | None:
    """`Cache-Control: max-age=N` as a duration; None when absent or no-store/no-cache."""
    value = headers.get("cache-control", "")
    if re.search(r"\bno-(store|cache)\b", value, re.I):
        return None
    match = _MAX_AGE.search(value)
    return timedelta(seconds=int(match[1])) if match else None


def retry_after(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """`Retry-After` (seconds or an HTTP date) as a duration from `now`; None when absent."""
    value = headers.get("retry-after", "").strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))


def within_backlog(published: list[datetime | None], now: datetime, backlog: Backlog) -> list[bool]:
    """Which entries of a newly added feed count as new: recent ones, the newest N at most.

    Undated entries count as recent; the feed's own order (newest first, as feeds
    list them) ranks entries of equal date.
    """
    oldest = now - timedelta(days=backlog.days)
    recent = [i for i, when in enumerate(published) if when is None or when >= oldest]
    far_future = datetime.max.replace(tzinfo=UTC)
    recent.sort(key=lambda i: published[i] or far_future, reverse=True)
    keep = set(recent[: backlog.entries])
    return [i in keep for i in range(len(published))]


def parse_duration(raw: str) -> timedelta | None:
    """`90`, `90s`, `15m`, `2h` or `1d` as a duration; None when it is none of those."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", raw.lower())
    if not match:
        return None
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]
    return timedelta(seconds=float(match[1]) * unit)
