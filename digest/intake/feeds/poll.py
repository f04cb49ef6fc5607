"""Poll the due feeds politely and hand their new entries to digest.intake.feeds.pages.

Fetched articles join the same intake as files (see digest.intake.feeds.pages); what a poll
means for the next one is digest.intake.feeds.politeness's; the state is the store's feed block.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from digest.errors import DigestError, FetchConnectionError, FetchError, FetchTimeout
from digest.intake.feeds import crew
from digest.intake.feeds import politeness as poll
from digest.intake.feeds.pages import Pages
from digest.runs.lock import run_lock
from digest.settings import Settings
from digest.store import FeedPoll, FeedRow, Store

if TYPE_CHECKING:  # imported where used: a run with no feeds due loads neither
    from digest.intake.feeds.parse import Feed
    from digest.intake.fetch import Fetcher
    from digest.intake.fetch_types import FetchPolicy, Response
    from digest.records import Reporter

log = logging.getLogger("digest")
NETWORK_ERRORS = (FetchConnectionError, FetchTimeout)
LOCK_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class FeedResult:
    """One feed's poll, as one line for the operator."""

    url: str
    line: str
    new: int = 0
    problem: bool = False  # failing or gone: reported like a bad file
    late: bool = False  # not polled: the budget ran out first


@dataclass
class FetchReport:
    """What a fetch did: a line per feed polled, and the requests it made."""

    results: list[FeedResult] = field(default_factory=list)
    feed_requests: int = 0
    page_requests: int = 0
    pages_waiting: int = 0  # not reached within the budget

    @property
    def problems(self) -> list[FeedResult]:
        return [r for r in self.results if r.problem]

    @property
    def new(self) -> int:
        return sum(r.new for r in self.results)


@dataclass(frozen=True)
class _Polled:
    row: FeedRow
    response: Response | None = None
    feed: Feed | None = None
    error: DigestError | None = None


def fetch_for_run(settings: Settings, store: Store, now: datetime, reporter: Reporter) -> None:
    """`fetch_due` inside a digest run: a failing feed is one line, never fatal."""
    try:
        report = fetch_due(settings, store, now=now)
    except DigestError as exc:  # the feeds wait for the next run; the seeds still go out
        reporter.say(f"feeds not polled: {exc}")
        return
    for line in report_lines(report):
        reporter.say(line)


def fetch_due(
    settings: Settings,
    store: Store,
    *,
    now: datetime,
    fetcher: Fetcher | None = None,
    every: bool = False,
) -> FetchReport:
    """Poll the feeds that are due (`every`: all active ones) and write their new entries."""
    feeds = store.feeds
    interval = timedelta(seconds=settings.feed_interval)
    if every:
        rows = [r for r in feeds.all() if r.status == "active"]
    else:
        rows = feeds.due(now, interval, settings.allow_private_addresses)
    if not rows and not feeds.waiting_pages():
        return FetchReport()
    from digest.intake import fetch  # late: requests only when a feed is due

    own = fetcher is None
    client = fetcher or fetch.Fetcher(policy(settings), connections=settings.fetch_workers)
    try:
        return _fetch_rows(settings, store, client, rows, now)
    finally:
        if own:
            client.close()


def fetch_now(settings: Settings, *, now: datetime, every: bool = False) -> FetchReport:
    """`digest fetch`: poll under the run lock, so it never races a digest run."""
    with run_lock(settings.state_dir, wait=LOCK_WAIT_SECONDS):
        with Store.open(settings.state_dir) as store:
            return fetch_due(settings, store, now=now, every=every)


def nothing_due(settings: Settings) -> str:
    """`digest fetch` with no feed due: when the next one is, and how to poll them all now."""
    interval = timedelta(seconds=settings.feed_interval)
    with Store.open(settings.state_dir, readonly=True) as store:
        rows = [r for r in store.feeds.all() if r.status == "active"]
    if not rows:
        return "no feeds to poll; add one with: digest feeds add URL"
    times = [when for when in (r.next_due(interval) for r in rows) if when is not None]
    soonest = min(times, default=None)
    when = f" (the next at {soonest.astimezone(UTC):%Y-%m-%d %H:%M} UTC)" if soonest else ""
    return f"no feed is due{when}; poll every feed now with: digest fetch --all"


def policy(settings: Settings) -> FetchPolicy:
    """The fetch limits from the settings."""
    from digest.intake.fetch_types import FetchPolicy

    return FetchPolicy(
        timeout=settings.fetch_timeout,
        max_bytes=settings.fetch_max_bytes,
        delay=settings.fetch_delay,
        allow_private=settings.allow_private_addresses,
    )


def _fetch_rows(
    settings: Settings, store: Store, client: Fetcher, rows: list[FeedRow], now: datetime
) -> FetchReport:
    """Poll the feeds at once, then fetch the new entries' pages at once, within the budget."""
    deadline = time.monotonic() + settings.fetch_budget
    start = client.requests_made
    polled = {
        row.id: got
        for row, got in crew.by_host(
            rows,
            lambda row: _host(row.url),
            partial(_poll, client),
            workers=settings.fetch_workers,
            deadline=deadline,
            delay=settings.fetch_delay,
        )
    }
    report = FetchReport(feed_requests=client.requests_made - start)
    reached = [p for p in polled.values() if isinstance(p, _Polled)]
    # Every feed failing to connect at once is our network, not theirs: nobody is blamed.
    down = len(reached) >= 2 and all(isinstance(p.error, NETWORK_ERRORS) for p in reached)
    pages = Pages(settings, store, client, deadline)
    answered: list[tuple[int, FeedPoll]] = []
    for row in rows:
        item = polled[row.id]
        if not isinstance(item, _Polled):
            report.results.append(FeedResult(row.url, f"{row.url}: {_late(settings)}", late=True))
            continue
        result, ok = _settle(settings, store, item, now, down, pages)
        report.results.append(result)
        if ok is not None:
            answered.append((row.id, ok))
    pages.run()
    for feed_id, ok in answered:  # entries first: a crash before this polls the feed again
        pages.record(feed_id, now)
        store.feeds.record_poll(feed_id, ok)
    pages.record_earlier(now)
    report.page_requests = client.requests_made - start - report.feed_requests
    report.pages_waiting = pages.unreached
    return report


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _late(settings: Settings) -> str:
    budget = f"DIGEST_FETCH_BUDGET={settings.fetch_budget:g}s"
    return f"not polled: the run's fetching time ({budget}) ran out; polled on the next run"


def _poll(client: Fetcher, row: FeedRow) -> _Polled:
    from digest.intake.feeds.parse import parse_feed

    try:
        resp = client.get(row.url, etag=row.etag, modified=row.last_modified)
    except FetchError as exc:
        return _Polled(row, error=exc)
    if resp.status != 200:
        return _Polled(row, response=resp)
    try:
        feed = parse_feed(resp.body, url=resp.url, media_type=resp.media_type, charset=resp.charset)
    except DigestError as exc:
        return _Polled(row, response=resp, error=exc)
    return _Polled(row, response=resp, feed=feed)


def _settle(
    settings: Settings, store: Store, item: _Polled, now: datetime, down: bool, pages: Pages
) -> tuple[FeedResult, FeedPoll | None]:
    """One poll's outcome in one line; a success's new entries planned, its poll to record."""
    row, resp, at = item.row, item.response, now
    interval = timedelta(seconds=settings.feed_interval)
    remove = f"check it in a browser, or stop polling it: digest feeds remove {row.url}"
    if down:
        poll_row = FeedPoll(at, now + interval, row.failures, False, row.last_error)
        store.feeds.record_poll(row.id, poll_row)
        why = _why(item.error) if item.error else "no answer"
        line = f"{row.url}: not reached ({why}); every feed failed at once"
        return FeedResult(row.url, line), None
    if resp is not None and resp.status == 410:
        store.feeds.record_poll(row.id, FeedPoll(at, None, row.failures + 1, False, "410", True))
        why = "gone (HTTP 410): the publisher removed it, so it is polled no more"
        line = f"{row.url}: {why}; digest feeds remove {row.url}"
        return FeedResult(row.url, line, 0, True), None
    if item.error is not None or resp is None or resp.status not in (200, 304):
        return _failed(store, item, now, interval, remove), None
    return _answered(settings, item, resp, now, pages)


def _answered(
    settings: Settings, item: _Polled, resp: Response, now: datetime, pages: Pages
) -> tuple[FeedResult, FeedPoll]:
    """A 200 or 304: the new entries planned, and the poll to record once they are written."""
    row, headers = item.row, resp.headers
    moved = resp.url if resp.permanent else None
    ok = FeedPoll(
        now,
        poll.asked_wait(now, headers),
        0,
        True,
        url=moved,
        title=item.feed.title if item.feed else None,
        etag=_validator(headers.get("etag"), row.etag, resp.status),
        last_modified=_validator(headers.get("last-modified"), row.last_modified, resp.status),
    )
    if item.feed is None:  # 304: nothing else to do
        return FeedResult(row.url, f"{row.url}: not modified" + _moved(moved)), ok
    new = _take(settings, row, item.feed, now, pages)
    line = f"{row.url}: {new} new" + _moved(moved)
    cut = f"; cut at DIGEST_FETCH_MAX_BYTES={settings.fetch_max_bytes}" if resp.truncated else ""
    if item.feed.problem or cut:
        line += f" ({item.feed.problem or 'malformed'}{cut})"
    return FeedResult(row.url, line, new), ok


def _why(error: DigestError) -> str:
    """The reason alone: the line names the feed already."""
    if isinstance(error, FetchError):
        return error.reason + (f"; {error.hint}" if error.hint else "")
    return str(error)


def _validator(new: str | None, old: str | None, status: int) -> str | None:
    """A 304 may leave out the validators: the old ones still hold; a 200 replaces them."""
    return new or (old if status == 304 else None)


def _moved(url: str | None) -> str:
    return f" (moved for good to {url}; polled there from now on)" if url else ""


def _failed(
    store: Store, item: _Polled, now: datetime, interval: timedelta, remove: str
) -> FeedResult:
    row, resp = item.row, item.response
    failures = row.failures + 1
    why = _why(item.error) if item.error is not None else f"HTTP {resp.status if resp else '?'}"
    headers = resp.headers if resp is not None else {}
    retry = resp is not None and resp.status in poll.THROTTLED
    nxt = poll.after_failure(now, interval, failures, headers if retry else None)
    store.feeds.record_poll(row.id, FeedPoll(now, nxt, failures, False, why))
    when = f"next try {nxt:%Y-%m-%d %H:%M} UTC"
    hint = when if retry else f"{when}; {remove}"
    return FeedResult(row.url, f"{row.url}: {why}; {hint}", 0, True)


# --- entries -> seed files ----------------------------------------------------------------------


def _take(settings: Settings, row: FeedRow, feed: Feed, now: datetime, pages: Pages) -> int:
    """Plan a seed for each of the feed's new entries; returns how many will be written."""
    seen = pages.store.feeds.seen(row.id, [e.key for e in feed.entries])
    fresh = [e for e in feed.entries if e.key not in seen]
    if row.last_success is None:  # just added: its backlog counts only within the limit
        backlog = poll.Backlog(settings.feed_backlog_days, settings.feed_backlog_entries)
        keep = poll.within_backlog([e.published for e in fresh], now, backlog)
    else:
        keep = [True] * len(fresh)
    planned = 0
    for entry, wanted in zip(fresh, keep, strict=True):
        if wanted:
            planned += pages.add(row, feed, entry)
        else:
            pages.skip(row, entry)
    return planned


def report_lines(report: FetchReport) -> Sequence[str]:
    """The lines a digest run shows: the failing, gone and unpolled feeds, pages left over."""
    lines = [f"feed {r.line}" for r in report.results if r.problem or r.late]
    if report.pages_waiting:
        lines.append(waiting_line(report.pages_waiting))
    return lines


def waiting_line(count: int) -> str:
    """What the budget left: pages fetched on the next run, the feed's text meanwhile."""
    return (
        f"{count} page(s) not fetched within DIGEST_FETCH_BUDGET: fetched on the next run;"
        " the feed's own text stands in meanwhile"
    )
