"""The text normal forms, one per purpose: each says what it is blind to, and why."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from urllib.parse import urlsplit

_NEWLINES = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# Every control character but the newline, and lone surrogates (left by a surrogateescape
# decode: they cannot be encoded as UTF-8 later).
_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Invisible characters that break matching: soft hyphen, zero-width space, word joiner, BOM.
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")


def without_controls(text: str) -> str:
    """Text that cannot shape its output: one newline style, tabs as spaces, no controls."""
    return _CONTROLS.sub("", _NEWLINES.sub("\n", text).replace("\t", " "))


def clean_text(text: str) -> str:
    """Text as a file gave it, made uniform: `without_controls`, no invisibles, one space, NFC."""
    text = _INVISIBLE.sub("", without_controls(text))
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", text))
    return re.sub(r" ?\n ?", "\n", text).strip()


def one_line(text: str) -> str:
    """Text on one line: every run of whitespace, newlines too, becomes one space."""
    return " ".join(text.split())


def clean_line(text: str) -> str:
    """`without_controls`, on one line: a title, a name, a header value."""
    return one_line(without_controls(text))


def headline_key(text: str) -> str:
    """What a headline and its repeat in the body share: letters and digits, case-blind."""
    return _NOT_WORD.sub("", text.casefold())


def without_headline(title: str | None, paragraphs: Sequence[str]) -> list[str]:
    """The paragraphs without the headline that pages often repeat as one of the first three."""
    key = headline_key(title or "")
    for i, paragraph in enumerate(paragraphs[:3]):
        if key and headline_key(paragraph) == key:
            return [*paragraphs[:i], *paragraphs[i + 1 :]]
    return list(paragraphs)


_NOT_WORD = re.compile(r"\W+")
_ASCII = str.maketrans(
    {"‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "“": '"', "”": '"', "„": '"', "‟": '"'}
    | {"″": '"', "«": '"', "»": '"', "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-"}
    | {"―": "-", "−": "-", "…": "..."}
)


def identity_text(text: str) -> str:
    """The text an article id hashes: blind to case, spacing, quote and dash style (NFKC)."""
    text = unicodedata.normalize("NFKC", text.translate(_ASCII)).casefold()
    return "".join(text.split())


_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lower-case words, blind to accents' encoding, quotes, dashes and spacing."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def is_web_url(url: str) -> bool:
    """Whether `url` is an http(s) URL with a host: the only links fetched or shown."""
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. a malformed IPv6 host or port
        return False
