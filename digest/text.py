"""The text normal forms, one per purpose: each says what it is blind to, and why."""

from __future__ import annotations

import re
import unicodedata

# Control characters (but \n and \t), surrogates, and invisible characters that break matching.
_JUNK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u00ad\u200b\u2060\ufeff]")
_NEWLINES = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_SPACES = re.compile(r"[^\S\n]+")


def clean_text(text: str) -> str:
    """Text as a file gave it, made uniform: one newline style, no control characters, NFC."""
    text = _JUNK.sub("", _NEWLINES.sub("\n", text))
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", text))
    return re.sub(r" ?\n ?", "\n", text).strip()


def one_line(text: str) -> str:
    """Text on one line: every run of whitespace, newlines too, becomes one space."""
    return " ".join(text.split())


def headline_key(text: str) -> str:
    """What a headline and its repeat in the body share: letters and digits, case-blind."""
    return _NOT_WORD.sub("", text.casefold())


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
