"""The values the templates see: a `Digest` turned into cleaned, display-ready views.

Article text is data. Every string here is cleaned of control characters and
folded where it must be one line, and a `url` is None unless it is a plain
http(s) link, so a template may print and link them without checking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from digest.edition.compose import Digest, Entry
from digest.records import Article
from digest.text import clean_line, is_web_url, without_controls

PREHEADER_LIMIT = 120  # inbox previews show roughly this much
TOC_MIN_ENTRIES = 3  # below this a table of contents only repeats the headlines

# Characters a URL may not hold as they are (RFC 3986); percent-encoded, as browsers do.
_URL_UNSAFE = str.maketrans({ch: f"%{ord(ch):02X}" for ch in '"<>\\^`{|}'})


@dataclass(frozen=True)
class EntryView:
    """One full entry as the templates see it: cleaned, dates already formatted."""

    title: str
    source: str | None
    section: str | None
    url: str | None
    published: str | None
    summary: tuple[str, ...]
    reading_minutes: int
    heading: str | None = None  # a section starts here: its name (only with two or more)
    also: tuple[MoreView, ...] = ()  # other outlets' reports: .source (never None) .url
    updated: bool = False  # sent before, back with substantial new text

    @property
    def meta(self) -> str:
        minutes = f"{self.reading_minutes} min read" if self.reading_minutes else None
        parts = [self.source, self.section, self.published, minutes]
        return " · ".join(p for p in parts if p)


@dataclass(frozen=True)
class MoreView:
    """One article listed by title under "More stories"."""

    title: str
    source: str | None
    url: str | None


def context(
    digest: Digest,
    title: str,
    unsubscribe: str | None,
    *,
    preferences: str | None = None,
    web_copy: str | None = None,
) -> dict[str, object]:
    """Every variable the digest templates receive (documented in render.py and README)."""
    title = clean_line(title) or "News digest"
    headings = _headings(digest)
    entries = tuple(_entry_view(e, headings.get(i)) for i, e in enumerate(digest.entries))
    source_count = len(digest.sources)
    return {
        "digest": digest,
        "title": title,
        "subject": _subject(digest, title),
        "preheader": _preheader(digest, entries, source_count),
        "created": long_date(digest.created),
        "date_range": date_range(digest),
        "entries": entries,
        "toc": len(entries) >= TOC_MIN_ENTRIES,
        "more": tuple(_more_view(a) for a in digest.more),
        "unlisted_count": len(digest.unlisted),
        "article_count": digest.article_count,
        "source_count": source_count,
        "unsubscribe": _unsubscribe(unsubscribe),
        "preferences": safe_url(preferences) if preferences else None,
        "web_copy": safe_url(web_copy) if web_copy else None,
    }


def _subject(digest: Digest, title: str) -> str:
    count = _plural(digest.article_count, "new article", "new articles")
    return clean_line(f"{title} — {digest.created:%a %d %b %Y}: {count}")


def _preheader(digest: Digest, entries: tuple[EntryView, ...], source_count: int) -> str:
    if not entries:
        return "No new articles."
    stories = _plural(digest.article_count, "story", "stories")
    origin = f" from {_plural(source_count, 'source', 'sources')}" if source_count else ""
    return _truncate(f"{stories}{origin} — top: {entries[0].title}", PREHEADER_LIMIT)


def _headings(digest: Digest) -> dict[int, str]:
    """Entry index -> the section name shown above it, when the digest has two or more."""
    if len(digest.sections) < 2:
        return {}
    found: dict[int, str] = {}
    for i, entry in enumerate(digest.entries):
        if entry.section and (i == 0 or digest.entries[i - 1].section != entry.section):
            found[i] = clean_line(entry.section)
    return found


def _also(entry: Entry) -> tuple[MoreView, ...]:
    """One link per other outlet: each named source once, not the lead's own."""
    seen = {_optional_line(entry.article.source)}
    found = []
    for article in entry.also:
        source = _optional_line(article.source)
        if source is not None and source not in seen:
            seen.add(source)
            found.append(MoreView(title=_title(article), source=source, url=safe_url(article.url)))
    return tuple(found)


def _entry_view(entry: Entry, heading: str | None = None) -> EntryView:
    article = entry.article
    return EntryView(
        title=_title(article),
        source=_optional_line(article.source),
        section=_optional_line(article.section),
        url=safe_url(article.url),
        published=short_date(article.published) if article.published else None,
        summary=tuple(s for s in map(clean_line, entry.summary.sentences) if s),
        reading_minutes=entry.reading_minutes,
        heading=heading,
        also=_also(entry),
        updated=entry.updated,
    )


def _more_view(article: Article) -> MoreView:
    return MoreView(
        title=_title(article),
        source=_optional_line(article.source),
        url=safe_url(article.url),
    )


def _title(article: Article) -> str:
    return clean_line(article.title) or "(untitled)"


def _unsubscribe(link: str | None) -> str | None:
    """An https or mailto: link to stop the digest; anything else is dropped."""
    if not link:
        return None
    if link.lower().startswith("mailto:") and not any(ch.isspace() for ch in link):
        return clean_line(link).translate(_URL_UNSAFE)
    return safe_url(link) if link.lower().startswith("https:") else None


# --- dates


def date_range(digest: Digest) -> str | None:
    """The span of the articles' dates, e.g. "3–5 Mar 2024"; None for an empty digest."""
    every = [e.article for e in digest.entries] + list(digest.more) + list(digest.unlisted)
    days = sorted({(a.published or a.modified).date() for a in every})
    if not days:
        return None
    first, last = days[0], days[-1]
    if first == last:
        return f"{last.day} {last:%b %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {last:%b %Y}"
    if first.year == last.year:
        return f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    return f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"


def short_date(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def long_date(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


# --- cleaning: article text is data and must not be able to shape the output


def _optional_line(value: str | None) -> str | None:
    return (clean_line(value) or None) if value else None


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link; anything else (javascript:, data:) is dropped.

    Characters a URL may not hold as they are (quotes, angle brackets) are
    percent-encoded, so the link survives any HTML serializer and mail client.
    """
    if not url:
        return None
    url = without_controls(url).strip()
    if any(ch.isspace() for ch in url) or not is_web_url(url):
        return None
    return url.translate(_URL_UNSAFE)


def _truncate(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    # End on a word boundary unless that throws away most of the text.
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" —-·,;:") + "…"


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"
