"""Poll the due feeds, fetch each new entry's page once, ever, and write it as a seed file.

Fetched articles join the same intake as files: one `.json` seed per entry
under `<seeds>/feeds/<feed>/`, written atomically, read by the JSON loader in
the same run. The feed's own text stands in when the page cannot be had.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from digest import poll
from digest.config import Settings
from digest.errors import DigestError, FetchConnectionError, FetchError, FetchTimeout
from digest.sources import FEEDS_FOLDER
from digest.sources_html import extract
from digest.store import FeedPoll, FeedRow, Store, run_lock

if TYPE_CHECKING:  # imported where used: a run with no feeds due loads neither
    from digest.feeds import Entry, Feed
    from digest.fetch import Fetcher, Response

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
    rows = [r for r in feeds.all() if r.status == "active"] if every else feeds.due(_iso(now))
    if not rows:
        return FetchReport()
    from digest import fetch  # late: requests only when a feed is due

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
        store = Store.open(settings.state_dir)
        try:
            return fetch_due(settings, store, now=now, every=every)
        finally:
            store.close()


def policy(settings: Settings) -> Any:
    """The fetch limits from the settings."""
    from digest.fetch import FetchPolicy

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
    from digest.feeds import parse_feed

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
    row, resp, at = item.row, item.response, _iso(now)
    interval = timedelta(seconds=settings.feed_interval)
    remove = f"check it in a browser, or stop polling it: digest feeds remove {row.url}"
    if down:
        poll_row = FeedPoll(at, _iso(now + interval), row.failures, False, row.last_error)
        store.feeds.record_poll(row.id, poll_row)
        return FeedResult(row.url, f"{row.url}: not reached ({item.error}); every feed failed")
    if resp is not None and resp.status == 410:
        store.feeds.record_poll(row.id, FeedPoll(at, None, row.failures + 1, False, "410", True))
        why = "gone (HTTP 410): the publisher removed it, so it is polled no more"
        return FeedResult(row.url, f"{row.url}: {why}; digest feeds remove {row.url}", 0, True)
    if item.error is not None or resp is None or resp.status not in (200, 304):
        return _failed(store, item, now, interval, remove)
    headers = resp.headers
    moved = resp.url if resp.permanent else None
    title = item.feed.title if item.feed else None
    ok = FeedPoll(
        at,
        _iso(poll.after_success(now, interval, headers)),
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
    if item.error is not None:
        why = str(item.error.message if item.error.message else item.error)
        if isinstance(item.error, FetchError):
            why = item.error.reason + (f"; {item.error.hint}" if item.error.hint else "")
    else:
        assert resp is not None
        why = f"HTTP {resp.status}"
    headers = resp.headers if resp is not None else {}
    retry = resp is not None and resp.status in poll.THROTTLED
    nxt = poll.after_failure(now, interval, failures, headers if retry else None)
    store.feeds.record_poll(row.id, FeedPoll(_iso(now), _iso(nxt), failures, False, why))
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
    store.feeds.record_entries(row.id, done, _iso(now))
    return written


class Pages:
    """Fetches each page once, ever (the store remembers), and writes the entry's seed."""

    def __init__(self, settings: Settings, store: Store, client: Fetcher) -> None:
        self.settings, self.store, self.client = settings, store, client
        self.root = settings.seeds_dir / FEEDS_FOLDER
        self.taken: set[str] = set()  # canonical URLs written in this run

    def seed_for(self, row: FeedRow, feed: Feed, entry: Entry) -> Path | None:
        """The seed written for `entry`, or None when its page is known or it has no text."""
        url = canonical_url(entry.link)
        if url is not None and (url in self.taken or self.store.feeds.fetched_pages([url])):
            return None  # the same article from another feed, or listed again
        path = self.root / row.slug / f"{_hash(entry.key)}.json"
        if path.exists():  # written before a crash kept it from being recorded
            return path
        text = self.page_text(entry) or html_text(entry.html)
        if not text:
            return None
        if url is not None:
            self.taken.add(url)
        write_seed(path, _seed(entry, feed, text))
        return path

    def page_text(self, entry: Entry) -> str | None:
        """The page's main text, or None when it cannot be had (the feed's text stands in)."""
        if not entry.link:
            return None
        try:
            resp = self.client.get(entry.link)
        except FetchError as exc:
            log.info("page %s not fetched: %s", entry.link, exc)
            return None
        if resp.status != 200 or resp.truncated or "html" not in resp.media_type:
            log.info("page %s not used: HTTP %s %s", entry.link, resp.status, resp.media_type)
            return None
        return extract_text(decode(resp.body, resp.charset), resp.url, html_text(entry.html))


def _seed(entry: Entry, feed: Feed, text: str) -> dict[str, str]:
    seed = {"title": entry.title or "", "source": feed.title or "", "url": entry.link or ""}
    if entry.published is not None:
        seed["published"] = entry.published.isoformat()
    seed["text"] = text
    return {k: v for k, v in seed.items() if v}


def write_seed(path: Path, seed: dict[str, str]) -> None:
    """Write a seed atomically (temp file, fsync, rename): the scan never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")  # a dot file: the scan skips it
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(seed, out, ensure_ascii=False, indent=1)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- text -------------------------------------------------------------------------------------


def _extractor() -> Callable[..., Any] | None:
    """digest.extract.extract_page (trafilatura) once it exists; until then the stdlib loader."""
    try:
        module = importlib.import_module("digest.extract")
    except ImportError:
        return None
    found = getattr(module, "extract_page", None)
    return found if callable(found) else None


def extract_text(html: str, url: str, feed_text: str | None) -> str | None:
    """A page's main text, paragraphs separated by a blank line; None when nothing is found."""
    extract_page = _extractor()
    if extract_page is not None:
        page = extract_page(html, url=url, feed_text=feed_text)
        return str(page.text) if page is not None and page.text else None
    found = "\n\n".join(extract(html).paragraphs)
    return found if found.strip() else None


def html_text(html: str) -> str:
    """The feed's own content or summary as plain paragraphs."""
    if "<" not in html:
        return "\n\n".join(p.strip() for p in re.split(r"\n\s*\n", html) if p.strip())
    return "\n\n".join(extract(html).paragraphs)


_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.I)


def decode(body: bytes, charset: str | None) -> str:
    """The page's text: a BOM, else its declared charset (header, then <meta>), else UTF-8."""
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", "replace")
    meta = _META_CHARSET.search(body[:4096])
    for name in (charset, meta[1].decode("ascii", "ignore") if meta else None, "utf-8"):
        if not name:
            continue
        try:
            return body.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("cp1252", "replace")


# --- identity -----------------------------------------------------------------------------------

_TRACKING = re.compile(r"utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref_src", re.I)


def canonical_url(url: str | None) -> str | None:
    """One spelling per page: lower-case scheme and host, no default port, fragment or tracking."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if port and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = [(k, v) for k, v in query if not _TRACKING.fullmatch(k)]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def report_lines(report: FetchReport) -> Sequence[str]:
    """The lines a digest run shows: the failing and gone feeds only."""
    return [f"feed {r.line}" for r in report.problems]
