"""Pull the readable text and what a page says about itself out of HTML (stdlib parser only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

# Never reader text: code, media and widgets, dropped wherever they are.
_HIDDEN = frozenset(
    "script style noscript template svg math iframe button select canvas object".split()
)
# Site furniture; kept only as a last resort, since some sites wrap a whole page in a <form>.
_CHROME = frozenset("nav header footer aside form".split())
_MAIN = frozenset({"article", "main"})
# Tags whose edges end a paragraph.
_BLOCK = _CHROME | frozenset(
    "p div h1 h2 h3 h4 h5 h6 li blockquote section article main br hr tr td th dd dt pre"
    " figcaption ul ol table body".split()
)
_RECOVERABLE_TAIL = 10_000  # characters
_META_KEYS = frozenset({"og:url", "og:site_name", "article:published_time"})
# "Headline | Site" or "Headline - Site": the shortest tail after the last separator.
_SITE_SUFFIX = re.compile(r"(.+)\s+[|–—·»-]\s+(.{1,60})")


@dataclass(frozen=True)
class HtmlFields:
    """One page's headline, paragraphs and metadata; values are as the page wrote them."""

    title: str | None
    paragraphs: tuple[str, ...]
    url: str | None = None
    source: str | None = None
    published: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class _Block:
    text: str
    main: bool  # inside <article> or <main>
    chrome: bool  # inside nav, header, footer, aside or form


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = self.chrome = self.main = 0
        self.buffer: list[str] = []
        self.blocks: list[_Block] = []
        self.headings: list[tuple[int, str]] = []  # (rank, text) per <h1>; lowest rank wins
        self.capture: list[str] | None = None
        self.capture_tag = ""
        self.doc_title: str | None = None
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._note(tag, {name: value or "" for name, value in attrs})
        if tag in _BLOCK:
            self.flush()
        self._nest(tag, 1)
        if tag in ("h1", "title") and self.capture is None and not self.hidden:
            self.capture, self.capture_tag = [], tag

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK:
            self.flush()
        if tag == self.capture_tag:
            self.end_capture()
        self._nest(tag, -1)

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.capture is not None:
            self.capture.append(data)
        if self.capture_tag != "title":
            self.buffer.append(data)

    def flush(self) -> None:
        text = " ".join("".join(self.buffer).split())
        self.buffer.clear()
        if text:
            self.blocks.append(_Block(text, self.main > 0, self.chrome > 0))

    def end_capture(self) -> None:
        text = " ".join("".join(self.capture or []).split())
        if self.capture_tag == "title":
            self.doc_title = self.doc_title or text
        elif text:
            # An <h1> in the article beats one in the page body, which beats the site header's.
            self.headings.append((0 if self.main else 2 if self.chrome else 1, text))
        self.capture, self.capture_tag = None, ""

    def _nest(self, tag: str, step: int) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden + step)
        elif tag in _CHROME:
            self.chrome = max(0, self.chrome + step)
        elif tag in _MAIN:
            self.main = max(0, self.main + step)

    def _note(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "html" and attrs.get("lang"):
            self.meta.setdefault("lang", attrs["lang"])
        elif tag == "time" and attrs.get("datetime"):
            self.meta.setdefault("time", attrs["datetime"])
        elif tag == "link" and "canonical" in attrs.get("rel", "").lower().split():
            if attrs.get("href"):
                self.meta.setdefault("canonical", attrs["href"])
        elif tag == "meta":
            key = (attrs.get("property") or attrs.get("name") or "").lower()
            if key in _META_KEYS and attrs.get("content"):
                self.meta.setdefault(key, attrs["content"])


def extract(markup: str) -> HtmlFields:
    """Parse one HTML document into its headline, paragraphs and metadata."""
    parser = _Extractor()
    parser.feed(markup)
    # An unterminated comment, tag or quote leaves the rest of the page unparsed; a browser hides
    # that rest too. The stdlib's recovery there is quadratic, so only a short tail gets it.
    if len(parser.rawdata) <= _RECOVERABLE_TAIL:
        parser.close()
    parser.flush()
    if parser.capture is not None:
        parser.end_capture()
    meta = parser.meta
    title, site = _title(parser)
    return HtmlFields(
        title=title,
        paragraphs=_choose(parser.blocks),
        url=meta.get("canonical") or meta.get("og:url"),
        source=meta.get("og:site_name") or site,
        published=meta.get("article:published_time") or meta.get("time"),
        language=meta.get("lang"),
    )


def _title(parser: _Extractor) -> tuple[str | None, str | None]:
    """The best <h1>, else <title> without its " | Site" tail; also that tail's site name."""
    if parser.headings:
        return min(parser.headings, key=lambda h: h[0])[1], None
    if not parser.doc_title:
        return None, None
    match = _SITE_SUFFIX.fullmatch(parser.doc_title)
    if match is None:
        return parser.doc_title, None
    return match[1], match[2]


def _choose(blocks: list[_Block]) -> tuple[str, ...]:
    """Article text if the page marks it, else the page body, else whatever there is."""
    tiers = (
        [b.text for b in blocks if b.main and not b.chrome],
        [b.text for b in blocks if not b.chrome],
        [b.text for b in blocks if b.main],
    )
    return tuple(next((tier for tier in tiers if tier), []))
