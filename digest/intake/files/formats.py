"""The article formats (plain text, markdown with front matter, HTML, JSON), each to a `Draft`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

from digest.errors import DigestError
from digest.intake.extract import extract_page
from digest.intake.files import html
from digest.intake.files.article import Draft, Rejected
from digest.intake.files.chrome import strip_chrome, take_heading
from digest.text import clean_text


def _parse_text(text: str) -> Draft:
    draft = Draft()
    draft.paragraphs = strip_chrome(_blocks(text), draft)
    take_heading(draft)
    return draft


def _parse_markdown(text: str) -> Draft:
    fields, text = _front_matter(text)
    text = _FENCE.sub("", text)  # before looking for "# Title": code has "# comments"
    draft = _draft_from(fields)
    if draft.title is None and (match := _MD_H1.search(text)):
        draft.title = _strip_markdown(match[1] or match[2])
        text = text[: match.start()] + text[match.end() :]
    draft.paragraphs = strip_chrome(_blocks(_strip_markdown(text)), draft)
    take_heading(draft)
    return draft


# Below trafilatura's own minimum (MIN_EXTRACTED_SIZE, 250 characters) it swaps its reading
# for a dump of the whole <article> or <body> as one paragraph, buttons and <noscript> text
# included; the stdlib parser reads such a short page better, paragraph by paragraph.
SHORT_PAGE_CHARS = 250


def _parse_html(text: str) -> Draft:
    """The page's main text by trafilatura (`intake.extract`); the stdlib parser for short pages."""
    try:
        page = extract_page(text)
    except DigestError:  # too complex a tree for trafilatura: the stdlib parser is linear
        page = None
    if page is None or len(page.text) < SHORT_PAGE_CHARS:
        return _parse_html_stdlib(text)
    published = page.published.isoformat() if page.published else None
    draft = Draft(title=page.title, source=page.source, url=page.url, published=published)
    draft.language, draft.section = page.language, page.section
    draft.paragraphs = strip_chrome([[p] for p in page.paragraphs], draft)
    return draft


def _parse_html_stdlib(text: str) -> Draft:
    page = html.extract(text)
    draft = Draft(title=page.title, source=page.source, url=page.url)
    draft.published, draft.language = page.published, page.language
    draft.paragraphs = strip_chrome([[p] for p in page.paragraphs], draft)
    return draft


_JSON_KINDS = {
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true/false",
}


def _parse_json(text: str) -> Draft:
    try:
        obj = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise Rejected(f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (ValueError, RecursionError):  # a number too long to convert, or absurd nesting
        raise Rejected("not valid JSON (a value is too large or too deeply nested)") from None
    if not isinstance(obj, dict):
        raise Rejected(f"not a JSON object (it is {_JSON_KINDS.get(type(obj), 'null')})")
    body = obj.get("text")
    if body is None and obj.get("kind") == "headline":  # a feed entry with no text to be had
        draft = _draft_from(obj)
        draft.headline = True
        return draft
    if not isinstance(body, str):
        raise Rejected('has no "text" field' if body is None else '"text" is not a string')
    if not body.strip():
        raise Rejected('"text" is empty')
    draft = _draft_from(obj)
    draft.paragraphs = strip_chrome(_blocks(clean_text(body)), draft)
    return draft


_PARSERS: dict[str, Callable[[str], Draft]] = {
    ".txt": _parse_text,
    ".md": _parse_markdown,
    ".markdown": _parse_markdown,
    ".html": _parse_html,
    ".htm": _parse_html,
    ".json": _parse_json,
}
# Metadata keys in JSON and markdown front matter, with the aliases exporters commonly use.
_FIELDS = {
    "title": ("title", "headline"),
    "section": ("section", "category"),
    "source": ("source", "site", "publisher"),
    "url": ("url", "link"),
    "published": ("published", "date", "published_at"),
    "language": ("language", "lang"),
}


def _draft_from(fields: Mapping[str, object]) -> Draft:
    """The known metadata fields that hold a non-empty string; other values are ignored."""

    def pick(name: str) -> str | None:
        values = (fields.get(key) for key in _FIELDS[name])
        return next((v.strip() for v in values if isinstance(v, str) and v.strip()), None)

    return Draft(
        title=pick("title"),
        section=pick("section"),
        source=pick("source"),
        url=pick("url"),
        published=pick("published"),
        language=pick("language"),
    )


_FRONT_MATTER = re.compile(r"---\n(.*?)\n(?:---|\.\.\.)(?:\n|$)", re.S)
_FRONT_LINE = re.compile(r"([\w-]+)\s*:\s*(.*)|[-#].*|")


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """`key: value` lines between `---` lines at the top; anything else means no front matter."""
    match = _FRONT_MATTER.match(text)
    lines = [_FRONT_LINE.fullmatch(line) for line in match[1].split("\n")] if match else []
    if not match or not all(lines):
        return {}, text
    fields = {m[1].lower(): m[2].strip().strip("\"'") for m in lines if m and m[1]}
    return fields, text[match.end() :]


_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)  # code is not prose
_MD_H1 = re.compile(r"^# (.+?)(?: #+)?$|^(.+)\n=+$", re.M)
# Each inner class excludes its own delimiters: a malformed file cannot make these quadratic.
_PARENS = r"\((?:[^()\n]|\([^()\n]*\))*\)"  # a URL may hold one level of (parentheses)
_MARKDOWN = [
    (re.compile(r"^\[[^\[\]\n]+\]: ?\S.*$", re.M), ""),  # link reference definitions
    (re.compile(r"!\[[^\[\]\n]*\]" + _PARENS), ""),  # images
    (re.compile(r"\[([^\[\]\n]+)\](?:" + _PARENS + r"|\[[^\[\]\n]*\])"), r"\1"),  # links
    (re.compile(r"<(https?://[^<>\s]+)>"), r"\1"),
    (re.compile(r"</?[A-Za-z][^<>\n]*>"), ""),  # inline HTML
    (re.compile(r"^(?:[-*_] ?){3,}$", re.M), ""),  # rules
    (re.compile(r"^(?:> ?)+", re.M), ""),  # block quotes
    (re.compile(r"^#{1,6} (.*?)(?: #+)?$", re.M), "\n\\1\n"),  # a heading is a paragraph,
    (re.compile(r"^(?:[-*+]|\d{1,3}[.)]) ", re.M), "\n"),  # and so is each list item
    (re.compile(r"\*\*(?=\S)([^*\n]+?)(?<=\S)\*\*"), r"\1"),
    (re.compile(r"__(?=\S)([^_\n]+?)(?<=\S)__"), r"\1"),
    (re.compile(r"(?<!\w)\*(?=\S)([^*\n]+?)(?<=\S)\*(?!\w)"), r"\1"),
    (re.compile(r"(?<!\w)_(?=\S)([^_\n]+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"~~([^~\n]+)~~"), r"\1"),
    (re.compile(r"`([^`\n]+)`"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+.!>~|-])"), r"\1"),  # backslash escapes, last
]


def _strip_markdown(text: str) -> str:
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    return text


def _blocks(text: str) -> list[list[str]]:
    """Paragraphs as lists of lines; text without any blank line has one paragraph per line."""
    chunks = [c for c in re.split(r"\n\s*\n", text) if c.strip()]
    if len(chunks) == 1:
        chunks = chunks[0].split("\n")
    blocks = ([line.strip() for line in c.split("\n") if line.strip()] for c in chunks)
    return [b for b in blocks if b]


def parse(text: str, suffix: str) -> Draft:
    """What the format `suffix` names finds in `text`; an unknown suffix is read as plain text."""
    return _PARSERS.get(suffix, _parse_text)(text)
