"""What a URL given to `feeds add` is: a feed, or a web page announcing one.

The URL is fetched once; a feed is taken as it is. A web page is searched for
`<link rel="alternate">` to RSS, Atom or JSON Feed, as feed readers do; the first
is fetched and checked, the others are named. Anything else is refused in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from digest.errors import FeedError, FetchError, UsageError
from digest.intake.files.article import Rejected
from digest.intake.files.decoding import decode

if TYPE_CHECKING:
    from digest.intake.feeds.parse import Feed
    from digest.intake.fetch import Fetcher
    from digest.intake.fetch_types import Response

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
    }
)
_HEAD_BYTES = 512_000  # the <link>s are in the head: a page's start is enough


@dataclass(frozen=True)
class Found:
    """The feed behind a URL: where it is, its title, how many entries it lists now."""

    url: str
    title: str | None
    entries: int
    page: str | None = None  # the web page that announced it, when it was one
    others: tuple[str, ...] = ()  # further feeds that page announced


def discover(client: Fetcher, url: str) -> Found:
    """The feed at `url` or announced by the page there; UsageError when there is none."""
    resp = _fetch(client, url, url)
    feed, problem = _feed(resp)
    if feed is not None:
        return Found(url, feed.title, len(feed.entries))
    if "html" not in resp.media_type and b"<html" not in resp.body[:4096].lower():
        raise UsageError(f"{url} is not a feed (RSS, Atom or JSON Feed): {problem}")
    try:
        head = decode(resp.body[:_HEAD_BYTES], html=True, declared=resp.charset)
    except Rejected as exc:
        raise UsageError(f"{url} is not a feed (RSS, Atom or JSON Feed): {exc}") from None
    links = alternates(head, resp.url)
    if not links:
        raise UsageError(
            f'{url} is a web page that announces no feed (no <link rel="alternate">)',
            "give the feed's own address; sites often have one at /feed or /rss",
        )
    first = links[0]
    announced, problem = _feed(_fetch(client, first, url))
    if announced is None:
        raise UsageError(f"{url} announces {first}, which is not a feed: {problem}")
    return Found(first, announced.title, len(announced.entries), url, tuple(links[1:]))


def _fetch(client: Fetcher, url: str, asked: str) -> Response:
    try:
        resp = client.get(url)
    except FetchError as exc:
        raise UsageError(f"cannot add {asked}: {exc}") from None
    if resp.status != 200:
        raise UsageError(
            f"cannot add {asked}: {url} answered HTTP {resp.status}",
            "check the address in a browser",
        )
    return resp


def _feed(resp: Response) -> tuple[Feed | None, str]:
    from digest.intake.feeds.parse import parse_feed  # late: feedparser only when adding

    try:
        feed = parse_feed(resp.body, url=resp.url, media_type=resp.media_type, charset=resp.charset)
    except FeedError as exc:
        return None, exc.message
    return feed, ""


def alternates(html: str, base: str) -> list[str]:
    """The feeds a page announces, in page order, each once, as absolute URLs."""
    finder = _Alternates()
    try:
        finder.feed(html)
        finder.close()
    except AssertionError:  # html.parser's complaint about badly broken markup
        pass
    found = (urljoin(base, href) for href in finder.links)
    return list(dict.fromkeys(u for u in found if u.lower().startswith(("http://", "https://"))))


class _Alternates(HTMLParser):
    """Collects `<link rel="alternate" type="<a feed type>" href=...>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        found = {name: (value or "").strip() for name, value in attrs}
        kind = found.get("type", "").split(";")[0].lower()
        rels = found.get("rel", "").lower().split()
        if "alternate" in rels and kind in FEED_TYPES and found.get("href"):
            self.links.append(found["href"])
