"""Pull a web page's main text and metadata out of its HTML with trafilatura.

The only module that imports trafilatura (and lxml, which it parses with); both are imported
on the first call, so a run without HTML never loads them. trafilatura has no timeout of its
own, so the input is bounded before it runs: bytes past `max_bytes` are cut off (a page's main
text comes before its comments and footer) and a tree of more than `max_elements` elements is
refused (or read from the feed's text when there is one), since trafilatura's passes grow with
the tree rather than the text.
"""

from __future__ import annotations

import json
import re
from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from digest.errors import DigestError
from digest.text import one_line, without_headline

if TYPE_CHECKING:
    from lxml.html import HtmlElement

MAX_BYTES = 2_000_000  # a long news page with inline scripts is 300 KB to 1 MB
# News pages have 1,000-5,000 elements, the busiest about 10,000. trafilatura spends up to
# ~0.3 ms an element on link-heavy layouts (measured: 20,000 elements of link lists, 5.3 s
# CPU; 20,000 short nested divs, 3.2 s), so this bounds one page to ~4 s at worst.
MAX_ELEMENTS = 15_000
# trafilatura keeps per-process caches (~1 MB per page over long runs); clearing them every
# this many pages keeps a run over a big archive flat.
RESET_EVERY = 200
# The feed's own text wins when the page yields less than this share of its words: the page
# was a teaser, a paywall or a layout trafilatura misread, and the feed had the whole article.
FEED_SHARE = 0.6
_MIN_FEED_WORDS = 80  # fewer is a summary, not the article
# A feed text at least this share of the page's, not ending in "Read more" or an ellipsis, is
# taken for the whole article rather than a teaser.
_FEED_WHOLE = 0.7
_TRUNCATED = re.compile(r"(\.\.\.|…|\[…\]|\[\.\.\.\]|read more|continue reading)\W*$", re.I)

_MIN_WORDS = 5  # less is a menu or a label, not an article

_calls = 0


@dataclass(frozen=True)
class Page:
    """One page's main text as paragraphs, with what the page says about itself."""

    title: str | None
    paragraphs: tuple[str, ...]
    author: str | None = None
    source: str | None = None  # the site's name
    published: datetime | None = None
    url: str | None = None  # the canonical URL when the page names one, else the one given
    language: str | None = None
    section: str | None = None  # `article:section`, else JSON-LD `articleSection`
    cut: bool = False  # the page was longer than `max_bytes` and only its start was read
    from_feed: bool = False  # the text is the feed's, not the page's

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


class PageError(DigestError):
    """A page cannot be read as HTML at all (binary data, or far too large a tree)."""

    def __init__(self, url: str | None, reason: str) -> None:
        super().__init__(f"{url or 'page'}: {reason}")
        self.url = url
        self.reason = reason


def extract_page(
    html: str | bytes,
    *,
    url: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_elements: int = MAX_ELEMENTS,
    feed_text: str | None = None,
) -> Page | None:
    """The main text of one HTML page, or None when it has none; `PageError` if it is not HTML.

    `feed_text` is the feed entry's own content for this page: it replaces the page's text when
    that is much shorter, and stands in when the page yields nothing.
    """
    data = html.encode("utf-8") if isinstance(html, str) else html
    cut = len(data) > max_bytes
    tree = _parse(data[:max_bytes], url)
    if tree is None:
        return _from_feed(None, feed_text, url)
    size = sum(1 for _ in tree.iter())
    if size > max_elements:
        if feed_text and feed_text.strip():
            return _from_feed(None, feed_text, url)
        raise PageError(url, f"too complex to read ({size:,} elements > {max_elements:,})")
    meta = _own_meta(tree)
    found = _read(tree, url)
    if found is None:
        return _from_feed(None, feed_text, url)
    return _from_feed(_page(found, meta, url, cut), feed_text, url)


def _page(found: Any, meta: dict[str, str], url: str | None, cut: bool) -> Page:
    """The page as trafilatura read it, with its own meta preferred where it says more."""
    title = _clean(found.title)
    paragraphs = tuple(without_headline(title, _paragraphs(found.text)))
    if _words(paragraphs) < _MIN_WORDS:
        paragraphs = ()
    return Page(
        title=title,
        paragraphs=paragraphs,
        author=_clean(found.author),
        source=_clean(found.sitename),
        published=_date(meta.get("published")) or _date(found.date),
        url=_clean(found.url) or url,
        language=meta.get("language") or _clean(found.language),
        section=meta.get("section"),
        cut=cut,
    )


def _parse(data: bytes, url: str | None) -> HtmlElement | None:
    """The page's lxml tree; None for an empty page; `PageError` for one that is not text."""
    from trafilatura.utils import decode_file, load_html

    if _looks_binary(data[:4096]):
        raise PageError(url, "not HTML (binary data)")
    text = decode_file(data)
    if not text.strip():
        return None
    tree: HtmlElement | None = load_html(text)
    return tree


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return controls > len(head) // 20


def _trafilatura(tree: HtmlElement, url: str | None) -> Any:
    import trafilatura
    from trafilatura.meta import reset_caches

    global _calls
    _calls += 1
    if _calls % RESET_EVERY == 0:
        reset_caches()
    return trafilatura.bare_extraction(
        tree,
        url=url,
        include_comments=False,
        with_metadata=True,
        deduplicate=False,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )


# A cell holding block elements or a long text is page layout, not data. Old sites lay whole
# pages out in tables and trafilatura keeps a table whole, menus and sidebars too; as divs,
# its cells are weighed one by one (table pages: F1 0.834 -> 0.918 in eval-extraction).
_LAYOUT_BLOCKS = "p div table h1 h2 h3 h4 h5 h6 ul ol form br".split()
_LAYOUT_CELL_WORDS = 120
_UNWRAPPED_SHARE = 0.5
_TABLE_PARTS = {"table", "tbody", "thead", "tfoot", "tr", "td", "th"}


def _read(tree: HtmlElement, url: str | None) -> Any:
    """trafilatura's reading of the page, its layout tables as divs unless that loses the text."""
    layout = [t for t in tree.iter("table") if any(map(_is_layout_cell, t.iter("td", "th")))]
    if not layout:
        return _trafilatura(tree, url)
    whole = _trafilatura(deepcopy(tree), url)
    for table in layout:
        for element in [table, *table.iter(*_TABLE_PARTS)]:
            element.tag = "div"
            element.attrib.clear()
    found = _trafilatura(tree, url)
    # Unwrapped, a short article can lose to a sidebar of teasers: then the whole table is better.
    if found is None or _count(found) < _UNWRAPPED_SHARE * _count(whole):
        return whole
    return found


def _count(found: Any) -> int:
    return len((found.text or "").split()) if found is not None else 0


def _is_layout_cell(cell: HtmlElement) -> bool:
    if any(True for _ in cell.iter(*_LAYOUT_BLOCKS)):
        return True
    return len(cell.text_content().split()) > _LAYOUT_CELL_WORDS


_PUBLISHED = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "dc.date.issued",
)


def _own_meta(tree: HtmlElement) -> dict[str, str]:
    """What trafilatura reduces or skips: the full publication time, language and section."""
    meta: dict[str, str] = {}
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop") or ""
        value = _clean(element.get("content"))
        if key.lower() in _PUBLISHED and value and "published" not in meta:
            meta["published"] = value
        if key.lower() == "article:section" and value and "section" not in meta:
            meta["section"] = value
    lang = (tree.get("lang") or "").strip()
    if lang:
        meta["language"] = lang
    section = meta.get("section") or _ld_section(tree)
    if section:
        meta["section"] = section
    return meta


def _ld_section(tree: HtmlElement) -> str | None:
    """The first `articleSection` in the page's JSON-LD blocks (a list gives its first)."""
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        try:
            found = _section_in(json.loads(script.text or ""), 0)
        except (ValueError, RecursionError):
            continue
        if found:
            return found
    return None


def _section_in(data: Any, depth: int) -> str | None:
    """`articleSection` anywhere in a JSON-LD value (an @graph, a list), a few levels deep."""
    if depth > 4:
        return None
    if isinstance(data, list):
        return next(filter(None, (_section_in(item, depth + 1) for item in data)), None)
    if not isinstance(data, dict):
        return None
    value = data.get("articleSection")
    value = value[0] if isinstance(value, list) and value else value
    if isinstance(value, str) and _clean(value):
        return _clean(value)
    return next(filter(None, (_section_in(v, depth + 1) for v in data.values())), None)


def _from_feed(page: Page | None, feed_text: str | None, url: str | None) -> Page | None:
    """The page, checked against the feed entry's own text when there is one.

    The feed's text replaces the page's when the page kept much less of it (a teaser page, a
    paywall, a layout misread); when the feed carries about the whole article, the page's
    paragraphs that are not in it (a sidebar, a teaser list kept by mistake) are dropped.
    """
    feed = _paragraphs(feed_text or "")
    feed_words = _words(feed)
    if not feed:
        return page if page and page.paragraphs else None
    if page is None:
        return Page(title=None, paragraphs=feed, url=url, from_feed=True)
    if not page.paragraphs:
        return replace(page, paragraphs=feed, from_feed=True)
    page_words = _words(page.paragraphs)
    if feed_words < _MIN_FEED_WORDS:
        return page
    if page_words < FEED_SHARE * feed_words:
        return replace(page, paragraphs=feed, from_feed=True)
    if feed_words >= _FEED_WHOLE * page_words and not _TRUNCATED.search(feed[-1]):
        known = _shingles(" ".join(feed))
        kept = tuple(p for p in page.paragraphs if _in_feed(p, known))
        if _words(kept) >= FEED_SHARE * feed_words:
            return replace(page, paragraphs=kept)
    return page


def _words(paragraphs: tuple[str, ...]) -> int:
    return sum(len(p.split()) for p in paragraphs)


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.casefold())
    return {tuple(words[i : i + 4]) for i in range(max(1, len(words) - 3))}


def _in_feed(paragraph: str, known: set[tuple[str, ...]]) -> bool:
    own = _shingles(paragraph)
    return bool(own) and len(own & known) >= len(own) / 2


def _paragraphs(text: str | None) -> tuple[str, ...]:
    lines = (one_line(line) for line in (text or "").split("\n"))
    return tuple(line for line in lines if line)


def _clean(value: str | None) -> str | None:
    return one_line(value or "") or None


def _date(value: str | None) -> datetime | None:
    """ISO 8601 (a bare date too); naive means UTC; anything else is unknown."""
    try:
        parsed = datetime.fromisoformat((value or "").strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
