"""Feed bytes -> a title and entries (RSS 0.9x/1.0/2.0, Atom, JSON Feed 1.x), and OPML lists.

The only module that imports feedparser. feedparser sanitises entry HTML; we
keep that. A malformed feed keeps the entries it completes; one bad entry is
dropped without failing the feed.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import quoteattr

from digest.errors import FeedError

MAX_ENTRIES = 500  # a feed listing more is cut: nobody's news is 500 items at once


@dataclass(frozen=True)
class FeedItem:
    """One feed item as the feed describes it."""

    key: str  # identity: id/guid, else link, else a hash of title and content
    title: str | None
    link: str | None
    published: datetime | None
    html: str  # the feed's own content, else its summary (sanitised HTML or plain text)
    section: str | None = None  # its first category or tag, as the feed spells it


@dataclass(frozen=True)
class Feed:
    """A parsed feed: `problem` says what was wrong when it was malformed."""

    title: str | None
    link: str | None
    entries: tuple[FeedItem, ...]
    problem: str | None = None


def parse_feed(data: bytes, *, url: str, media_type: str = "", charset: str | None = None) -> Feed:
    """Parse a feed's bytes; `url` resolves relative links. Raises FeedError when no feed.

    The error's message does not name the feed: the caller does.
    """
    head = data.lstrip()[:1]
    if "json" in media_type or head in (b"{", b"["):
        return _parse_json_feed(data, url)
    return _parse_xml_feed(data, url, media_type, charset)


# --- RSS and Atom, through feedparser ---------------------------------------------------------

# A feed needs no DTD; an internal subset is where entity bombs and external entities live.
# expat's own amplification limit stops a billion laughs, but only after seconds of work.
_DOCTYPE = re.compile(rb"<!DOCTYPE\b[^\[>]*(?:\[.*?\]\s*)?>", re.S | re.I)
_CLOSE_ENTRY = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.I)


def _parse_xml_feed(data: bytes, url: str, media_type: str, charset: str | None) -> Feed:
    import feedparser  # late: a run with no feeds never loads it

    data = _DOCTYPE.sub(b"", data, count=1)
    headers = {"content-location": url}
    if _plain_utf8(data):
        # Valid UTF-8 with non-ASCII bytes is UTF-8, whatever the declaration claims: a
        # server or template that says iso-8859-1 over UTF-8 bytes would give mojibake.
        charset = "utf-8"
    if media_type or charset:
        media_type = media_type or "application/xml"
        headers["content-type"] = media_type + (f"; charset={charset}" if charset else "")
    parsed = feedparser.parse(data, response_headers=headers, sanitize_html=True)
    found = list(parsed.entries)
    problem = None
    benign = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
    if parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), benign):
        problem = _bozo_text(parsed.get("bozo_exception"))
        # feedparser's lenient pass keeps a half-written last item: keep whole ones only
        found = found[: len(_CLOSE_ENTRY.findall(data))]
    version = parsed.get("version") or ""
    if not found and not version:
        raise FeedError("not a feed (RSS, Atom or JSON Feed)", problem)
    feed = parsed.get("feed", {})
    entries = _entries(_xml_entry(item) for item in found[:MAX_ENTRIES])
    return Feed(_text(feed.get("title")), _text(feed.get("link")), entries, problem)


def _plain_utf8(data: bytes) -> bool:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _bozo_text(exc: object) -> str:
    text = str(exc or "malformed").strip().splitlines()[0] if exc else "malformed"
    return f"malformed feed ({text[:120]}); the complete entries were kept"


def _xml_entry(item: Mapping[str, Any]) -> FeedItem | None:
    title, link = _text(item.get("title")), _text(item.get("link"))
    contents = item.get("content") or []
    html = next((c.get("value", "") for c in contents if c.get("value")), "")
    html = html or item.get("summary", "") or ""
    published = _struct(item.get("published_parsed") or item.get("updated_parsed"))
    tags = _dicts(item.get("tags"))
    section = _first(_text(t.get("label")) or _text(t.get("term")) for t in tags)
    return _entry(_text(item.get("id")), title, link, published, str(html), section)


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _first(values: Iterable[str | None]) -> str | None:
    """The first value that is not empty: an entry's section."""
    return next((v for v in values if v), None)


def _struct(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


# --- JSON Feed 1.0 / 1.1 (feedparser does not read it) ----------------------------------------


def _parse_json_feed(data: bytes, url: str) -> Feed:
    try:
        obj = json.loads(data.decode("utf-8-sig", errors="replace"))
    except (ValueError, RecursionError) as exc:
        raise FeedError(f"not a JSON Feed ({str(exc)[:80]})") from None
    version = obj.get("version") if isinstance(obj, dict) else None
    if not isinstance(version, str) or "jsonfeed.org/version/1" not in version:
        raise FeedError("not a JSON Feed (no jsonfeed.org version 1 field)")
    items = obj.get("items")
    items = items if isinstance(items, list) else []
    entries = _entries(_json_entry(i, url) for i in items[:MAX_ENTRIES] if isinstance(i, dict))
    problem = None if len(entries) == len(items[:MAX_ENTRIES]) else "some items were unusable"
    return Feed(_text(obj.get("title")), _text(obj.get("home_page_url")), entries, problem)


def _json_entry(item: Mapping[str, Any], base: str) -> FeedItem | None:
    from urllib.parse import urljoin

    raw_id = item.get("id")
    key = str(raw_id) if isinstance(raw_id, str | int) and str(raw_id).strip() else None
    link = _text(item.get("url")) or _text(item.get("external_url"))
    body = item.get("content_html") or item.get("content_text") or item.get("summary") or ""
    tags = item.get("tags")
    return _entry(
        key,
        _text(item.get("title")),
        urljoin(base, link) if link else None,
        _iso(item.get("date_published") or item.get("date_modified")),
        body if isinstance(body, str) else "",
        _first(map(_text, tags)) if isinstance(tags, list) else None,
    )


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


# --- both ---------------------------------------------------------------------------------------


def _entry(
    key: str | None,
    title: str | None,
    link: str | None,
    published: datetime | None,
    html: str,
    section: str | None = None,
) -> FeedItem | None:
    """An entry, or None when it has nothing to show (no title, no link, no text)."""
    if not (title or link or html.strip()):
        return None
    if not key:
        key = link or "sha256:" + hashlib.sha256(f"{title}\n{html}".encode()).hexdigest()[:32]
    return FeedItem(key.strip()[:2000], title, link, published, html, section)


def _entries(found: Iterable[FeedItem | None]) -> tuple[FeedItem, ...]:
    """The usable entries, each key once (the first wins)."""
    unique: dict[str, FeedItem] = {}
    for entry in found:
        if entry is not None:
            unique.setdefault(entry.key, entry)
    return tuple(unique.values())


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


# --- OPML: the lists feed readers import and export ---------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """One feed in an OPML file."""

    url: str
    title: str | None = None


@dataclass(frozen=True)
class Outlines:
    """What an OPML file lists: its feeds, and the feed-like outlines with no xmlUrl."""

    feeds: list[Subscription]
    without_url: list[str]  # how each is labelled: its title, text or htmlUrl


def read_opml(data: bytes, *, name: str = "OPML file") -> list[Subscription]:
    """Every outline with an xmlUrl, however deeply nested; DTDs and entities are refused."""
    return read_outlines(data, name=name).feeds


def read_outlines(data: bytes, *, name: str = "OPML file") -> Outlines:
    """The feeds (outlines with an xmlUrl, however deeply nested), and the outlines that
    look like a feed (a type or an htmlUrl, no children) but have no xmlUrl."""
    found: dict[str, Subscription] = {}
    without_url: list[str] = []
    open_leaf: list[dict[str, str] | None] = []  # per open outline: attrs while it has no child
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def start(tag: str, attrs: dict[str, str]) -> None:
        if open_leaf:
            open_leaf[-1] = None  # it has a child: a folder
        if tag.lower() != "outline":
            open_leaf.append(None)
            return
        url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        title = _text(attrs.get("title")) or _text(attrs.get("text"))
        if url:
            found.setdefault(url, Subscription(url, title))
        open_leaf.append(None if url else attrs)

    def end(tag: str) -> None:
        attrs = open_leaf.pop()
        if attrs is not None and (attrs.get("type") or attrs.get("htmlUrl")):
            label = _text(attrs.get("title")) or _text(attrs.get("text"))
            without_url.append(label or attrs.get("htmlUrl") or "(untitled)")

    def refuse(*_: object) -> None:
        raise FeedError(f"{name}: declares entities, which OPML does not need; refused")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = refuse
    parser.StartDoctypeDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise FeedError(
            f"{name}: not valid OPML ({exc})", "export it again from your reader"
        ) from None
    return Outlines(list(found.values()), without_url)


def write_opml(feeds: Sequence[Subscription], *, title: str = "digest feeds") -> str:
    """An OPML 2.0 document listing `feeds`, as feed readers import it."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_escape(title)}</title></head>",
        "  <body>",
    ]
    for feed in feeds:
        label = quoteattr(feed.title or feed.url)
        lines.append(
            f'    <outline type="rss" text={label} title={label} xmlUrl={quoteattr(feed.url)}/>'
        )
    lines += ["  </body>", "</opml>"]
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
