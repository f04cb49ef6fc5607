"""The `Draft` a parser hands over, and the checks that make it an `Article` (digest.records)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from digest.records import Article, FileVersion
from digest.text import clean_text, identity_text, is_web_url, one_line, without_headline

TITLE_MAX = 300


class Rejected(Exception):
    """Why a file's content is unusable; `parse_article` adds the path."""


@dataclass
class Draft:
    """What a format's parser found, before the checks every article gets."""

    paragraphs: list[str] = field(default_factory=list)
    title: str | None = None
    section: str | None = None
    source: str | None = None
    url: str | None = None
    published: str | None = None
    language: str | None = None
    headline: bool = False  # a feed entry known by its title and link alone


# --- the checks and normal forms every article gets ------------------------------------------


def finish(info: FileVersion, draft: Draft) -> Article:
    """The `Article` a draft makes, or `Rejected` when it holds no article text."""
    title = _one_line(draft.title or "")
    paragraphs = without_headline(title, [p for p in map(_one_line, draft.paragraphs) if p])
    if not paragraphs and draft.headline and title:
        return _headline(info, draft, title)
    if not paragraphs:
        raise Rejected(
            "only a headline, no article text" if title else "empty after removing page chrome"
        )
    fallback = _shorten(_first_sentence(paragraphs[0]), 100)
    return Article(
        id=article_id(paragraphs),
        path=Path(info.path),
        title=_shorten(title, TITLE_MAX) if title else fallback,
        paragraphs=tuple(paragraphs),
        modified=datetime.fromtimestamp(info.mtime_ns / 1e9, tz=UTC),
        section=_optional(draft.section),
        source=_optional(draft.source),
        url=_web_url(draft.url),
        published=parse_date(draft.published),
        language=_optional(draft.language),
    )


def _headline(info: FileVersion, draft: Draft, title: str) -> Article:
    """A headline without text: its id from its link and title, as its body is empty."""
    url = _web_url(draft.url)
    return Article(
        id=article_id([f"headline {url or ''} {title}"]),
        path=Path(info.path),
        title=_shorten(title, TITLE_MAX),
        paragraphs=(),
        modified=datetime.fromtimestamp(info.mtime_ns / 1e9, tz=UTC),
        section=_optional(draft.section),
        source=_optional(draft.source),
        url=url,
        published=parse_date(draft.published),
        language=_optional(draft.language),
    )


def _one_line(text: str) -> str:
    return one_line(clean_text(text))


def _optional(text: str | None) -> str | None:
    return _one_line(text or "") or None


_NOT_IN_URL = re.compile(r"[\s<>\"']")


def _web_url(url: str | None) -> str | None:
    # Only http(s): the URL becomes a link in the email, and javascript: must never be one.
    url = (url or "").strip()
    return url if is_web_url(url) and not _NOT_IN_URL.search(url) else None


# The first sentence: its end is not a full stop after an initial ("Rosco P. Coltrane") or a
# common abbreviation ("Mr.", "St.", "U.S.").
_NOT_AN_END = "".join(
    rf"(?<!\b{a})" for a in ("[A-Z]", "Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "No", "vs", "U.S")
)
_SENTENCE = re.compile(rf".{{20,}}?(?:[!?…]|{_NOT_AN_END}\.)(?=\s|$)")


def _first_sentence(paragraph: str) -> str:
    match = _SENTENCE.match(paragraph)
    return match[0] if match else paragraph


def _shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word and marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    head = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return (head.rstrip(" ,;:-–—") or cut) + "…"


def article_id(paragraphs: list[str]) -> str:
    """Hash of the body alone, blind to case, spacing, quote and dash style: same story, same id."""
    return hashlib.sha256(identity_text(" ".join(paragraphs)).encode()).hexdigest()[:16]


def parse_date(value: str | None) -> datetime | None:
    """ISO 8601 (a bare date too) or RFC 2822; naive means UTC; anything else is unknown."""
    value = (value or "").strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
