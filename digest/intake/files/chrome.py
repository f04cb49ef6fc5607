"""Scraped-page chrome: furniture lines dropped, a cut marker ending the body, the headline layout.

One pattern per kind of furniture; a new kind is one more line.
"""

from __future__ import annotations

import re

from digest.intake.files.article import TITLE_MAX, Draft, parse_date


def _whole_lines(*patterns: str) -> re.Pattern[str]:
    # Whole lines only, allowing decoration around them ("» Read more", "Share:").
    return re.compile(r"\W*(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\W*", re.I)


_SOCIAL = r"facebook|twitter|x|linkedin|whatsapp|reddit|pinterest|telegram|e-?mail|print"
_SOCIAL += r"|comments?|share|tweet|copy link"
_DROP = _whole_lines(  # furniture wherever it appears
    r"source link|view (the )?original( article)?",
    r"skip to (main )?content|jump to navigation",
    r"advertisement|sponsored( content)?",
    rf"share (this|on|via)\b.*|(?:{_SOCIAL})(?:\W+(?:{_SOCIAL}))*",
    r"\d+ of [\d,]+",
    r"click here to\b.*",
    r"sign up for\b.*\bnewsletters?\b.*|subscribe( now| today| to our newsletter)?",
    r"read more|continue reading|read (the )?full (story|article)|read more(:| at| on)\s.*",
    r"(we|this (web)?site) uses? cookies\b.*|accept (all )?cookies|cookie (settings|policy)",
    r"tags?:.*",
)
_CUT = _whole_lines(  # after the body, the rest of the page is other stories and comments
    r"related (posts|articles|stories|content|coverage|news|reading)",
    r"you (may|might) also like|you may also be interested in|recommended( for you)?",
    r"most (read|popular|viewed)|trending( now)?|more stories|leave a (comment|reply)",
)
_COPYRIGHT = re.compile(
    r"(?:copyright\s*(?:©|\(c\)|\d{4})|©|\(c\)\s*\d{4}).{0,150}"
    r"|.{0,150}\ball rights reserved\b.{0,80}",
    re.I,
)
_OWNER_NOISE = re.compile(
    r"copyright|©|\(c\)|all rights reserved|\b\d{4}(\s*[-–]\s*\d{2,4})?\b", re.I
)
_LEGAL_FORM = re.compile(
    r"^by\s+|[\s,]+(llc|inc|ltd|limited|corp|corporation|co|plc|gmbh|ag)\.?$", re.I
)
_URL_LINE = re.compile(
    r"(?:(?:source|url|link|original(?:ly published)?(?: at)?)\s*:\s*)?(https?://\S+)", re.I
)
_DATE_LINE = re.compile(r"(?:published|date|posted)(?: on)?\s*:\s*(.{6,40})", re.I)


def strip_chrome(blocks: list[list[str]], draft: Draft) -> list[str]:
    """The paragraphs left once furniture lines are gone; a cut marker ends the article."""
    paragraphs: list[str] = []
    for block in blocks:
        lines: list[str] = []
        for line in block:
            verdict = _chrome(line, draft)
            if verdict == "cut" and (paragraphs or lines):
                return paragraphs + ([" ".join(lines)] if lines else [])
            if verdict is None:
                lines.append(line)
        if lines:
            paragraphs.append(" ".join(lines))
    return paragraphs


def _chrome(line: str, draft: Draft) -> str | None:
    """Classify one line: "cut", "drop" or None (keep); metadata lines fill in the draft."""
    if _CUT.fullmatch(line):
        return "cut"
    if _DROP.fullmatch(line):
        return "drop"
    if _COPYRIGHT.fullmatch(line):
        draft.source = draft.source or _copyright_owner(line)
        return "drop"
    if match := _URL_LINE.fullmatch(line):
        draft.url = draft.url or match[1]
        return "drop"
    if (match := _DATE_LINE.fullmatch(line)) and parse_date(match[1]):
        draft.published = draft.published or match[1]
        return "drop"
    return None


def _copyright_owner(line: str) -> str | None:
    """The owner a copyright line names, without years and legal form ("..., LLC.")."""
    name = " ".join(_OWNER_NOISE.sub(" ", line).split()).strip(" ,.;:|-–—")
    name = _LEGAL_FORM.sub("", name).strip(" ,.;:|-–—")
    return name if 0 < len(name) <= 80 else None


_CATEGORY = re.compile(r"[^\W\d_][\w&'’-]*(?: [\w&'’-]+){0,2}")
_SENTENCE_ENDS = tuple(".!?…\"'”’)")


def take_heading(draft: Draft) -> None:
    """The scraper layout: an optional one-to-three-word category line, then the headline."""
    p = draft.paragraphs
    if draft.title is not None:
        return
    if draft.section is None and len(p) >= 2 and _is_category(p[0], p[1]):
        draft.section = p.pop(0)
    # A lone short line that is not a sentence is a headline whose article is missing.
    if p and len(p[0]) <= TITLE_MAX and (len(p) > 1 or not p[0].endswith(_SENTENCE_ENDS)):
        draft.title = p.pop(0)


def _is_category(line: str, headline: str) -> bool:
    short = bool(_CATEGORY.fullmatch(line)) and line[0].isupper() and len(line) <= 40
    return short and len(headline) <= TITLE_MAX and not headline.endswith(".")
