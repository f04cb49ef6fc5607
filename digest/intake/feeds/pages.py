"""Each entry's page, fetched once, ever; its main text; the entry written as a seed file.

One `.json` seed per entry under `<seeds>/feeds/<feed>/`, written atomically,
read by the JSON loader in the same run. The pages are fetched many hosts at once
(digest.intake.feeds.crew) and read in the calling thread as they come. When the page
cannot be had (an error, too big, not http/https, not HTML, nothing extracted) the feed's
own text stands in; with no text either, the entry goes out as a headline (title, source,
link, date). A page the budget did not reach waits for the next run, the feed's text
standing in meanwhile; once that seed went out, the page is not fetched and nothing is
sent again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from digest.disk import sync_folder, write_atomic
from digest.errors import FetchError
from digest.intake.feeds import crew
from digest.intake.files.article import Rejected
from digest.intake.files.decoding import decode
from digest.intake.files.html import extract
from digest.intake.files.listing import FEEDS_FOLDER
from digest.settings import Settings
from digest.store import FeedRow, Store
from digest.text import headline_key

if TYPE_CHECKING:
    from digest.intake.extract import Page
    from digest.intake.feeds.parse import Feed, FeedItem
    from digest.intake.fetch import Fetcher
    from digest.intake.fetch_types import Response

log = logging.getLogger("digest")
HEADLINE = {"kind": "headline"}  # a seed with no text: the JSON loader takes it as a headline
_FIELDS = ("title", "section", "source", "url", "published")


@dataclass(frozen=True)
class Job:
    """One entry's seed to write; `page` is its page's canonical URL (None: no page)."""

    feed_id: int
    key: str
    path: Path  # the seed file
    page: str | None
    link: str | None
    fields: dict[str, str]  # title, section, source, url, published
    feed_text: str
    waited: bool = False  # its page waited from an earlier run


@dataclass
class _Ledger:
    """What the run settled, recorded feed by feed once its seeds are written."""

    seen: dict[int, list[tuple[str, str | None, str | None]]] = field(default_factory=dict)
    waiting: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    pages: list[tuple[str, str | None]] = field(default_factory=list)  # earlier runs' pages


class Pages:
    """Plans each new entry's seed, fetches the pages at once, writes the seeds."""

    def __init__(
        self, settings: Settings, store: Store, client: Fetcher, deadline: float | None = None
    ) -> None:
        self.settings, self.store, self.client = settings, store, client
        self.deadline = deadline if deadline is not None else time.monotonic() + 1e9
        self.root = settings.seeds_dir / FEEDS_FOLDER
        self.taken: set[str] = set()  # canonical URLs planned in this run
        self.jobs: list[Job] = []
        self.ledger = _Ledger()
        self.unreached = 0  # pages left for the next run

    def add(self, row: FeedRow, feed: Feed, entry: FeedItem) -> bool:
        """Plan `entry`'s seed; False when its page is known already (another feed's, or listed
        again) and nothing will be written."""
        url = canonical_url(entry.link)
        if url is not None and url in self.taken:  # another feed's in this run: its job records
            self._seen(row.id, entry.key, None, None)  # the page (which may yet wait)
            return False
        if url is not None and self.store.feeds.fetched_pages([url]):
            self._seen(row.id, entry.key, url, None)
            return False
        path = self.root / row.slug / f"{_hash(entry.key)}.json"
        if path.exists():  # written before a crash kept it from being recorded
            self._seen(row.id, entry.key, url, str(path))
            return True
        if url is not None:
            self.taken.add(url)
        fields = _fields(entry, feed)
        self.jobs.append(
            Job(row.id, entry.key, path, url, entry.link, fields, feed_text(entry.html))
        )
        return True

    def skip(self, row: FeedRow, entry: FeedItem) -> None:
        """An entry seen but not taken (outside a new feed's backlog)."""
        self._seen(row.id, entry.key, None, None)

    def run(self) -> None:
        """Fetch the planned pages (and those left by earlier runs) and write every seed."""
        self._add_waiting()
        linked = [j for j in self.jobs if j.link]
        for job in self.jobs:
            if not job.link:
                self._write(job, None)
        # Past the budget and one timeout, pages fetched but not yet read wait too: reading
        # them (CPU on a busy machine) must not hold the run lock longer than that.
        last_read = self.deadline + self.settings.fetch_timeout
        for job, got in crew.by_host(
            linked,
            _host,
            self._get,
            workers=self.settings.fetch_workers,
            deadline=self.deadline,
            delay=self.settings.fetch_delay,
        ):
            self._write(job, crew.UNREACHED if time.monotonic() > last_read else got)
        for folder in {job.path.parent for job in self.jobs if job.path.parent.exists()}:
            sync_folder(folder)  # the renames are durable before the state says so

    def record(self, feed_id: int, now: datetime) -> None:
        """Remember one feed's entries seen and pages fetched (after `run`)."""
        self.store.feeds.record_entries(feed_id, self.ledger.seen.pop(feed_id, []), now)
        self.store.feeds.record_waiting(feed_id, self.ledger.waiting.pop(feed_id, []), now)

    def record_earlier(self, now: datetime) -> None:
        """Remember the pages that waited from earlier runs and are settled now."""
        self.store.feeds.record_pages(self.ledger.pages, now)
        self.ledger.pages = []

    def _seen(self, feed_id: int, key: str, url: str | None, seed: str | None) -> None:
        self.ledger.seen.setdefault(feed_id, []).append((key, url, seed))

    def _get(self, job: Job) -> Response | FetchError:
        try:
            return self.client.get(job.link or "")
        except FetchError as exc:
            return exc

    def _write(self, job: Job, got: Response | FetchError | crew.Unreached | None) -> None:
        """The seed from the page, else the feed's text, else the headline alone."""
        if isinstance(got, crew.Unreached):
            self._wait(job)
            return
        page = self._read(job, got) if got is not None else None
        fields = dict(job.fields)
        if page is not None and page.section and "section" not in fields:
            fields["section"] = page.section
        text = page.text if page is not None and page.paragraphs else job.feed_text
        if headline_key(text) == headline_key(fields.get("title", "")):
            text = ""  # the title said again is no text: a headline
        write_seed(job.path, fields | {"text": text} if text else fields | HEADLINE)
        _waiting_file(job.path).unlink(missing_ok=True)
        if job.waited:
            self.ledger.pages.append((job.page or "", str(job.path)))
        else:
            self._seen(job.feed_id, job.key, job.page, str(job.path))

    def _wait(self, job: Job) -> None:
        """Past the budget: the feed's text goes out now, the page waits for the next run."""
        self.unreached += 1
        if job.waited or job.page is None:
            return
        if job.feed_text:
            write_seed(job.path, job.fields | {"text": job.feed_text})
        else:  # nothing to send yet: a dot file the scan skips keeps the entry for later
            write_seed(_waiting_file(job.path), job.fields)
        self.ledger.waiting.setdefault(job.feed_id, []).append((job.key, job.page))

    def _read(self, job: Job, got: Response | FetchError) -> Page | None:
        """The page as read, or None when it cannot be had (the feed's text stands in)."""
        if isinstance(got, FetchError):
            log.info("page %s not fetched: %s", job.link, got)
            return None
        if got.status != 200 or got.truncated or "html" not in got.media_type:
            log.info("page %s not used: HTTP %s %s", job.link, got.status, got.media_type)
            return None
        try:
            html = decode(got.body, html=True, declared=got.charset)
        except Rejected as exc:
            log.info("page %s not used: %s", job.link, exc)
            return None
        return read_page(html, got.url, job.feed_text)

    def _add_waiting(self) -> None:
        """Jobs for the pages earlier runs did not reach; none for an entry already sent."""
        waiting = self.store.feeds.waiting_pages()
        if not waiting:
            return
        sent = {version[0] for version in self.store.sent_files()}
        for feed_id, slug, key, url in waiting:
            if url in self.taken:
                continue
            path = self.root / slug / f"{_hash(key)}.json"
            saved = _saved(path) if str(path) not in sent else None
            if saved is None:  # sent with the feed's text already, or its file is gone
                self.ledger.pages.append((url, str(path) if path.exists() else None))
                continue
            fields = {k: v for k, v in saved.items() if k in _FIELDS and isinstance(v, str)}
            text = saved.get("text")
            self.taken.add(url)
            self.jobs.append(
                Job(
                    feed_id,
                    key,
                    path,
                    url,
                    fields.get("url"),
                    fields,
                    text if isinstance(text, str) else "",
                    waited=True,
                )
            )


def _saved(path: Path) -> dict[str, Any] | None:
    """The seed written for a waiting page (or its dot file); None when neither is readable."""
    for candidate in (path, _waiting_file(path)):
        try:
            found = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(found, dict):
            return found
    return None


def _waiting_file(path: Path) -> Path:
    return path.with_name(f".{path.stem}.waiting.json")


def _host(job: Job) -> str:
    try:
        return (urlsplit(job.link or "").hostname or "").lower()
    except ValueError:
        return ""


def _fields(entry: FeedItem, feed: Feed) -> dict[str, str]:
    seed = {
        "title": entry.title or "",
        "section": entry.section or "",
        "source": feed.title or "",
        "url": entry.link or "",
        "published": entry.published.isoformat() if entry.published else "",
    }
    return {k: v for k, v in seed.items() if v}


def write_seed(path: Path, seed: dict[str, str]) -> None:
    """Write a seed whole or not at all; the poll syncs the folder once per feed, not per file."""
    write_atomic(path, json.dumps(seed, ensure_ascii=False, indent=1).encode("utf-8"))


# --- text -------------------------------------------------------------------------------------


def read_page(html: str, url: str, feed_text: str | None) -> Page | None:
    """A page's main text and section; None when it cannot be read at all.

    digest.intake.extract (trafilatura) reads it; the feed's own text helps it judge a teaser
    page or a misread layout, and stands in when the page has none.
    """
    from digest.intake.extract import PageError, extract_page  # late: lxml only when pages come

    try:
        return extract_page(html, url=url, feed_text=feed_text)
    except PageError as exc:
        log.info("page %s not read: %s", url, exc)
        return None


_LINK = re.compile(r"<a\b[^>]*>.*?</a\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")


def feed_text(html: str) -> str:
    """An entry's own text, or "" when it is only links (Hacker News' "Comments")."""
    if "<" in html and not re.search(r"\w", _TAG.sub(" ", _LINK.sub(" ", html))):
        return ""
    return html_text(html)


def html_text(html: str) -> str:
    """The feed's own content or summary as plain paragraphs."""
    if "<" not in html:
        return "\n\n".join(p.strip() for p in re.split(r"\n\s*\n", html) if p.strip())
    return "\n\n".join(extract(html).paragraphs)


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
