"""Each entry's page, fetched once, ever; its main text; the entry written as a seed file.

One `.json` seed per entry under `<seeds>/feeds/<feed>/`, written atomically,
read by the JSON loader in the same run. When the page cannot be had (an
error, too big, not http/https, not HTML, nothing extracted) the feed's own
text stands in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from digest.disk import write_atomic
from digest.errors import FetchError
from digest.intake.files.article import Rejected
from digest.intake.files.decoding import decode
from digest.intake.files.html import extract
from digest.intake.files.listing import FEEDS_FOLDER
from digest.settings import Settings
from digest.store import FeedRow, Store

if TYPE_CHECKING:
    from digest.intake.feeds.parse import Feed, FeedItem
    from digest.intake.fetch import Fetcher

log = logging.getLogger("digest")


class Pages:
    """Fetches each page once, ever (the store remembers), and writes the entry's seed."""

    def __init__(self, settings: Settings, store: Store, client: Fetcher) -> None:
        self.settings, self.store, self.client = settings, store, client
        self.root = settings.seeds_dir / FEEDS_FOLDER
        self.taken: set[str] = set()  # canonical URLs written in this run

    def seed_for(self, row: FeedRow, feed: Feed, entry: FeedItem) -> Path | None:
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

    def page_text(self, entry: FeedItem) -> str | None:
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
        try:
            html = decode(resp.body, html=True, declared=resp.charset)
        except Rejected as exc:
            log.info("page %s not used: %s", entry.link, exc)
            return None
        return extract_text(html, resp.url, html_text(entry.html))


def _seed(entry: FeedItem, feed: Feed, text: str) -> dict[str, str]:
    seed = {"title": entry.title or "", "source": feed.title or "", "url": entry.link or ""}
    if entry.published is not None:
        seed["published"] = entry.published.isoformat()
    seed["text"] = text
    return {k: v for k, v in seed.items() if v}


def write_seed(path: Path, seed: dict[str, str]) -> None:
    """Write a seed whole or not at all; the poll syncs the folder once per feed, not per file."""
    write_atomic(path, json.dumps(seed, ensure_ascii=False, indent=1).encode("utf-8"))


# --- text -------------------------------------------------------------------------------------


def extract_text(html: str, url: str, feed_text: str | None) -> str | None:
    """A page's main text, paragraphs separated by a blank line; None when nothing is found.

    digest.intake.extract (trafilatura) reads it; the feed's own text helps it judge a teaser
    page or a misread layout, and stands in when the page has none.
    """
    from digest.intake.extract import PageError, extract_page  # late: lxml only when pages come

    try:
        page = extract_page(html, url=url, feed_text=feed_text)
    except PageError as exc:
        log.info("page %s not read: %s", url, exc)
        return None
    return page.text if page is not None and page.paragraphs else None


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
