"""Poll the due feeds politely and hand their new entries to digest.intake.feeds.pages.

Fetched articles join the same intake as files (see digest.intake.feeds.pages); what a poll
means for the next one is digest.intake.feeds.politeness's; the state is the store's feed block.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from digest.disk import sync_folder
from digest.errors import DigestError, FetchConnectionError, FetchError, FetchTimeout
from digest.intake.feeds import politeness as poll
from digest.intake.feeds.pages import Pages, canonical_url
from digest.runs.lock import run_lock
from digest.settings import Settings
from digest.store import FeedPoll, FeedRow, Store

if TYPE_CHECKING:  # imported where used: a run with no feeds due loads neither
    from digest.intake.feeds.parse import Feed
    from digest.intake.fetch import Fetcher, FetchPolicy, Response
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


@dataclass
class FetchReport:
    """What a fetch did: a line per feed polled, and the requests it made."""

    results: list[FeedResult] = field(default_factory=list)
    feed_requests: int = 0
    page_requests: int = 0

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
    rows = [r for r in feeds.all() if r.status == "active"] if every else feeds.due(now)
    if not rows:
        return FetchReport()
    from digest.intake import fetch  # late: requests only when a feed is due

    own = fetcher is None
    client = fetcher or fetch.Fetcher(policy(settings))
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


def policy(settings: Settings) -> FetchPolicy:
    """The fetch limits from the settings."""
    from digest.intake.fetch import FetchPolicy

    return FetchPolicy(
        timeout=settings.fetch_timeout,
        max_bytes=settings.fetch_max_bytes,
        delay=settings.fetch_delay,
        allow_private=settings.allow_private_addresses,
    )


def _fetch_rows(
    settings: Settings, store: Store, client: Fetcher, rows: list[FeedRow], now: datetime
) -> FetchReport:
    start = client.requests_made
    polled = [_poll(client, row) for row in rows]
    report = FetchReport(feed_requests=client.requests_made - start)
    # Every feed failing to connect at once is our network, not theirs: nobody is blamed.
    down = len(polled) >= 2 and all(isinstance(p.error, NETWORK_ERRORS) for p in polled)
    pages = Pages(settings, store, client)
    for item in polled:
        report.results.append(_settle(settings, store, item, now, down, pages))
    report.page_requests = client.requests_made - start - report.feed_requests
    return report


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
) -> FeedResult:
    """Record one poll's outcome, write its new entries, and say it in one line."""
    row, resp, at = item.row, item.response, now
    interval = timedelta(seconds=settings.feed_interval)
    remove = f"check it in a browser, or stop polling it: digest feeds remove {row.url}"
    if down:
        poll_row = FeedPoll(at, now + interval, row.failures, False, row.last_error)
        store.feeds.record_poll(row.id, poll_row)
        why = _why(item.error) if item.error else "no answer"
        return FeedResult(row.url, f"{row.url}: not reached ({why}); every feed failed at once")
    if resp is not None and resp.status == 410:
        store.feeds.record_poll(row.id, FeedPoll(at, None, row.failures + 1, False, "410", True))
        why = "gone (HTTP 410): the publisher removed it, so it is polled no more"
        return FeedResult(row.url, f"{row.url}: {why}; digest feeds remove {row.url}", 0, True)
    if item.error is not None or resp is None or resp.status not in (200, 304):
        return _failed(store, item, now, interval, remove)
    return _answered(settings, store, item, resp, now, pages)


def _answered(
    settings: Settings, store: Store, item: _Polled, resp: Response, now: datetime, pages: Pages
) -> FeedResult:
    """A 200 or 304: the poll recorded as a success, the new entries written."""
    row, at, interval = item.row, now, timedelta(seconds=settings.feed_interval)
    headers = resp.headers
    moved = resp.url if resp.permanent else None
    title = item.feed.title if item.feed else None
    ok = FeedPoll(
        at,
        poll.after_success(now, interval, headers),
        0,
        True,
        url=moved,
        title=title,
        etag=_validator(headers.get("etag"), row.etag, resp.status),
        last_modified=_validator(headers.get("last-modified"), row.last_modified, resp.status),
    )
    if item.feed is None:  # 304: nothing else to do
        store.feeds.record_poll(row.id, ok)
        return FeedResult(row.url, f"{row.url}: not modified" + _moved(moved))
    new = _take(settings, store, row, item.feed, now, pages)
    store.feeds.record_poll(row.id, ok)
    line = f"{row.url}: {new} new" + _moved(moved)
    cut = f"; cut at DIGEST_FETCH_MAX_BYTES={settings.fetch_max_bytes}" if resp.truncated else ""
    if item.feed.problem or cut:
        line += f" ({item.feed.problem or 'malformed'}{cut})"
    return FeedResult(row.url, line, new)


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


def _take(
    settings: Settings, store: Store, row: FeedRow, feed: Feed, now: datetime, pages: Pages
) -> int:
    """Write the feed's new entries as seeds; returns how many were written."""
    seen = store.feeds.seen(row.id, [e.key for e in feed.entries])
    fresh = [e for e in feed.entries if e.key not in seen]
    if row.last_success is None:  # just added: its backlog counts only within the limit
        backlog = poll.Backlog(settings.feed_backlog_days, settings.feed_backlog_entries)
        keep = poll.within_backlog([e.published for e in fresh], now, backlog)
    else:
        keep = [True] * len(fresh)
    done: list[tuple[str, str | None, str | None]] = []
    written = 0
    for entry, wanted in zip(fresh, keep, strict=True):
        if not wanted:
            done.append((entry.key, None, None))
            continue
        seed = pages.seed_for(row, feed, entry)
        written += seed is not None
        done.append((entry.key, canonical_url(entry.link), str(seed) if seed else None))
    if written:
        sync_folder(pages.root / row.slug)  # the renames are durable before the state says so
    store.feeds.record_entries(row.id, done, now)
    return written


def report_lines(report: FetchReport) -> Sequence[str]:
    """The lines a digest run shows: the failing and gone feeds only."""
    return [f"feed {r.line}" for r in report.problems]
