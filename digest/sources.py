"""Find article files, read them safely, and turn each into an `Article`."""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from operator import attrgetter
from pathlib import Path

from digest.errors import SettingsError, SourceError
from digest.sources_html import extract

ARTICLE_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".json"})
# Where digest.feedrun writes fetched articles; written atomically, so they need no settling.
FEEDS_FOLDER = "feeds"

# (path, size, mtime_ns, inode): one version of a listed file, as plain values.
FileVersion = tuple[str, int, int, int]


@dataclass(frozen=True)
class FileInfo:
    """One candidate file as listed, before it is read."""

    path: Path
    size: int
    mtime_ns: int
    inode: int


@dataclass(frozen=True)
class Skipped:
    """A file that will not be in the digest, and why (one line for the operator)."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Article:
    """One article, cleaned of page chrome; `id` is stable across file names."""

    id: str
    path: Path
    title: str
    paragraphs: tuple[str, ...]
    modified: datetime
    section: str | None = None
    source: str | None = None
    url: str | None = None
    published: datetime | None = None
    language: str | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def word_count(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


# --- finding files ---------------------------------------------------------------------------

# Editor backups, partial downloads and lock files: somebody is still working on these.
_TEMP_NAME = re.compile(r".*(~|\.(tmp|part|partial|crdownload|download|swp|swx))|#.*#|~\$.*", re.I)


_BY_NAME = attrgetter("name")


def _suffix(name: str) -> str:
    """`Path(name).suffix.lower()`, without building a Path."""
    dot = name.rfind(".")
    return name[dot:].lower() if 0 < dot < len(name) - 1 else ""


def list_files(
    seeds_dir: Path, *, now: float, settle_seconds: float
) -> tuple[list[FileInfo], list[Skipped]]:
    """List the article files under `seeds_dir` that are settled, and those that cannot be used."""
    found, skipped = scan_files(seeds_dir, now=now, settle_seconds=settle_seconds)
    return [FileInfo(Path(p), size, mtime, ino) for p, size, mtime, ino in found], skipped


def scan_files(
    seeds_dir: Path, *, now: float, settle_seconds: float
) -> tuple[list[FileVersion], list[Skipped]]:
    """`list_files`, each file as plain (path, size, mtime_ns, inode): cheap for 100,000 files.

    Nothing is read; the path text is what `str()` of the listed `FileInfo.path` gives.
    """
    try:
        root = seeds_dir.resolve(strict=True)
    except (OSError, RuntimeError):
        raise SettingsError(
            "DIGEST_SEEDS_DIR", str(seeds_dir), "no such folder", "create it or set the setting"
        ) from None
    if not root.is_dir():
        raise SettingsError("DIGEST_SEEDS_DIR", str(seeds_dir), "not a folder")
    listing = _Listing(root, now, settle_seconds, seen={root})
    listing.settled = os.path.join(seeds_dir, FEEDS_FOLDER, "")
    listing.walk(seeds_dir)
    return listing.found, listing.skipped


def file_info(path: Path) -> FileInfo:
    """Describe one file named on the command line, as `list_files` would."""
    try:
        st = path.stat()
    except OSError as exc:
        raise _read_error(path, exc) from None
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(str(path), "not a regular file")
    return FileInfo(path, st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass
class _Listing:
    root: Path
    now: float
    settle_seconds: float
    seen: set[Path]  # folders already walked, so a link back up cannot loop
    found: list[FileVersion] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    settled: str = "\0"  # files under this path prefix count as settled at once

    def walk(self, folder: Path) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=_BY_NAME)
        except OSError as exc:
            self.skipped.append(Skipped(folder, f"cannot list folder ({exc.strerror or exc})"))
            return
        # Most entries of a big folder are settled article files: they take the short way,
        # one stat and no Path; anything else goes through `visit`.
        found, earliest = self.found, self.now - self.settle_seconds
        if os.path.join(folder, "").startswith(self.settled):
            earliest = float("inf")
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            dot = name.rfind(".")
            if name[dot:].lower() in ARTICLE_SUFFIXES and dot > 0 and not name.startswith("~$"):
                try:
                    st = None if entry.is_symlink() else entry.stat()
                except OSError:
                    st = None
                if st is not None and stat.S_ISREG(st.st_mode) and st.st_mtime <= earliest:
                    found.append((entry.path, st.st_size, st.st_mtime_ns, st.st_ino))
                    continue
            if not _TEMP_NAME.fullmatch(name):
                self.visit(entry)

    def visit(self, entry: os.DirEntry[str]) -> None:
        # No Path per file: with 100,000 files, building them is most of a listing's time.
        suffix = _suffix(entry.name)
        wanted = suffix in ARTICLE_SUFFIXES
        if entry.is_symlink() and not self.link_inside(
            Path(entry.path), report=wanted or not suffix
        ):
            return
        try:
            st = entry.stat()
        except OSError as exc:
            self.skipped.append(Skipped(Path(entry.path), f"cannot stat ({exc.strerror or exc})"))
            return
        if stat.S_ISDIR(st.st_mode):
            if (real := Path(entry.path).resolve()) not in self.seen:
                self.seen.add(real)
                self.walk(Path(entry.path))
        elif wanted and not stat.S_ISREG(st.st_mode):
            self.skipped.append(Skipped(Path(entry.path), "not a regular file"))
        elif wanted and (
            abs(self.now - st.st_mtime) >= self.settle_seconds
            or entry.path.startswith(self.settled)
        ):
            # A file modified moments ago may still be being written: it waits for the next run.
            self.found.append((entry.path, st.st_size, st.st_mtime_ns, st.st_ino))

    def link_inside(self, path: Path, *, report: bool) -> bool:
        try:
            if path.resolve(strict=True).is_relative_to(self.root):
                return True
            reason = "symlink points outside the seeds folder"
        except FileNotFoundError:
            reason = "broken symlink"
        except (OSError, RuntimeError):
            reason = "symlink loop"
        if report:
            self.skipped.append(Skipped(path, reason))
        return False


# --- reading and decoding --------------------------------------------------------------------


class _Rejected(Exception):
    """Why a file's content is unusable; `parse_article` adds the path."""


def read_article(info: FileInfo, *, max_bytes: int) -> Article:
    """Read one listed file into an `Article`, or raise `SourceError` saying why it is skipped."""
    return parse_article(info, _read_bytes(info.path, max_bytes))


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        # O_NONBLOCK: a FIFO swapped in after listing must not hang the run.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise SourceError(str(path), "not a regular file")
            # Read one byte past the limit: the file may have grown since it was listed.
            data = fh.read(max_bytes + 1) if st.st_size <= max_bytes else b""
    except OSError as exc:
        raise _read_error(path, exc) from None
    if st.st_size > max_bytes or len(data) > max_bytes:
        size = f"{_size(max(st.st_size, len(data)))} > {_size(max_bytes)}"
        raise SourceError(
            str(path), f"too large ({size}), raise DIGEST_MAX_FILE_BYTES to include it"
        )
    return data


def _read_error(path: Path, exc: OSError) -> SourceError:
    if isinstance(exc, FileNotFoundError):
        return SourceError(str(path), "disappeared before it could be read")
    if isinstance(exc, PermissionError):
        return SourceError(str(path), "cannot read (permission denied)")
    return SourceError(str(path), f"cannot read ({exc.strerror or exc})")


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"%PDF-", "PDF"),
    (b"PK\x03\x04", "ZIP"),
    (b"\x1f\x8b", "GZIP"),
    (b"\x7fELF", "ELF"),
)
# UTF-32 first: its little-endian BOM starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# cp1252 where it defines a byte; latin-1 (the identity) for the five bytes it leaves unmapped.
_CP1252 = {
    b: c for b in range(0x80, 0xA0) if (c := bytes([b]).decode("cp1252", "replace")) != "\ufffd"
}
_DECLARED = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_WESTERN = {"utf-8", "ascii", "iso8859-1", "cp1252"}  # browsers read all of these as cp1252


def _decode(data: bytes, *, html: bool) -> str:
    """Bytes to text: BOM, then BOM-less UTF-16, strict UTF-8, else a legacy 8-bit charset."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            raise _Rejected(f"binary file (looks like {kind}), skipped")
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, "replace")
    if utf16 := _utf16_without_bom(data):
        return data.decode(utf16, "replace")
    if b"\x00" in data:
        raise _Rejected("binary file (contains NUL bytes), skipped")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _legacy(data, html=html)


def _legacy(data: bytes, *, html: bool) -> str:
    """A charset the page declares (Shift_JIS, KOI8-R...), else Windows' cp1252."""
    match = _DECLARED.search(data[:4096]) if html else None
    try:
        codec = codecs.lookup(match[1].decode("ascii")).name if match else "cp1252"
        if codec not in _WESTERN:
            return data.decode(codec, "replace")
    except (LookupError, UnicodeError):  # an unknown or non-text codec name: ignore it
        pass
    return data.decode("latin-1").translate(_CP1252)


def _utf16_without_bom(data: bytes) -> str | None:
    """Mostly-ASCII UTF-16 has a NUL in every other byte, and almost none in the rest."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs == 0:
        return None
    even, odd = sample[0 : pairs * 2 : 2].count(0), sample[1 : pairs * 2 : 2].count(0)
    if odd >= pairs * 0.3 and even <= pairs * 0.05:
        return "utf-16-le"
    if even >= pairs * 0.3 and odd <= pairs * 0.05:
        return "utf-16-be"
    return None


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    bad = len(_BINARY_CHARS.findall(sample))
    return bad > len(sample) * 0.1


_BINARY_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f\ufffd]")
# Control characters (but \n and \t), surrogates, and invisible characters that break matching.
_JUNK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u00ad\u200b\u2060\ufeff]")
_NEWLINES = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_SPACES = re.compile(r"[^\S\n]+")


def _normalise(text: str) -> str:
    """Unify newlines, drop control characters, compose accents (NFC), collapse spaces."""
    text = _JUNK.sub("", _NEWLINES.sub("\n", text))
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", text))
    return re.sub(r" ?\n ?", "\n", text).strip()


# --- turning text into an article ------------------------------------------------------------


@dataclass
class _Draft:
    """What a format's parser found, before the checks every article gets."""

    paragraphs: list[str] = field(default_factory=list)
    title: str | None = None
    section: str | None = None
    source: str | None = None
    url: str | None = None
    published: str | None = None
    language: str | None = None


def parse_article(info: FileInfo, data: bytes) -> Article:
    """Turn one file's bytes into an `Article`; the suffix of `info.path` picks the format."""
    suffix = info.path.suffix.lower()
    try:
        raw = _decode(data, html=suffix in (".html", ".htm"))
        if _looks_binary(raw):
            raise _Rejected("binary file (mostly control characters), skipped")
        text = _normalise(raw)
        if not text:
            raise _Rejected("empty file")
        return _finish(info, _PARSERS.get(suffix, _parse_text)(text))
    except _Rejected as exc:
        raise SourceError(str(info.path), str(exc)) from None


def _parse_text(text: str) -> _Draft:
    draft = _Draft()
    draft.paragraphs = _strip_chrome(_blocks(text), draft)
    _take_heading(draft)
    return draft


def _parse_markdown(text: str) -> _Draft:
    fields, text = _front_matter(text)
    text = _FENCE.sub("", text)  # before looking for "# Title": code has "# comments"
    draft = _draft_from(fields)
    if draft.title is None and (match := _MD_H1.search(text)):
        draft.title = _strip_markdown(match[1] or match[2])
        text = text[: match.start()] + text[match.end() :]
    draft.paragraphs = _strip_chrome(_blocks(_strip_markdown(text)), draft)
    _take_heading(draft)
    return draft


def _parse_html(text: str) -> _Draft:
    page = extract(text)
    draft = _Draft(title=page.title, source=page.source, url=page.url)
    draft.published, draft.language = page.published, page.language
    draft.paragraphs = _strip_chrome([[p] for p in page.paragraphs], draft)
    return draft


_JSON_KINDS = {
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true/false",
}


def _parse_json(text: str) -> _Draft:
    try:
        obj = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise _Rejected(f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (ValueError, RecursionError):  # a number too long to convert, or absurd nesting
        raise _Rejected("not valid JSON (a value is too large or too deeply nested)") from None
    if not isinstance(obj, dict):
        raise _Rejected(f"not a JSON object (it is {_JSON_KINDS.get(type(obj), 'null')})")
    body = obj.get("text")
    if not isinstance(body, str):
        raise _Rejected('has no "text" field' if body is None else '"text" is not a string')
    if not body.strip():
        raise _Rejected('"text" is empty')
    draft = _draft_from(obj)
    draft.paragraphs = _strip_chrome(_blocks(_normalise(body)), draft)
    return draft


_PARSERS: dict[str, Callable[[str], _Draft]] = {
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


def _draft_from(fields: Mapping[str, object]) -> _Draft:
    """The known metadata fields that hold a non-empty string; other values are ignored."""

    def pick(name: str) -> str | None:
        values = (fields.get(key) for key in _FIELDS[name])
        return next((v.strip() for v in values if isinstance(v, str) and v.strip()), None)

    return _Draft(
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


# --- page chrome: one pattern per kind of furniture; a new kind is one more line --------------


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


def _strip_chrome(blocks: list[list[str]], draft: _Draft) -> list[str]:
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


def _chrome(line: str, draft: _Draft) -> str | None:
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
    if (match := _DATE_LINE.fullmatch(line)) and _parse_date(match[1]):
        draft.published = draft.published or match[1]
        return "drop"
    return None


def _copyright_owner(line: str) -> str | None:
    """The owner a copyright line names, without years and legal form ("..., LLC.")."""
    name = " ".join(_OWNER_NOISE.sub(" ", line).split()).strip(" ,.;:|-–—")
    name = _LEGAL_FORM.sub("", name).strip(" ,.;:|-–—")
    return name if 0 < len(name) <= 80 else None


_CATEGORY = re.compile(r"[^\W\d_][\w&'’-]*(?: [\w&'’-]+){0,2}")
_TITLE_MAX = 300
_SENTENCE_ENDS = tuple(".!?…\"'”’)")


def _take_heading(draft: _Draft) -> None:
    """The scraper layout: an optional one-to-three-word category line, then the headline."""
    p = draft.paragraphs
    if draft.title is not None:
        return
    if draft.section is None and len(p) >= 2 and _is_category(p[0], p[1]):
        draft.section = p.pop(0)
    # A lone short line that is not a sentence is a headline whose article is missing.
    if p and len(p[0]) <= _TITLE_MAX and (len(p) > 1 or not p[0].endswith(_SENTENCE_ENDS)):
        draft.title = p.pop(0)


def _is_category(line: str, headline: str) -> bool:
    short = bool(_CATEGORY.fullmatch(line)) and line[0].isupper() and len(line) <= 40
    return short and len(headline) <= _TITLE_MAX and not headline.endswith(".")


# --- the checks and normal forms every article gets ------------------------------------------


def _finish(info: FileInfo, draft: _Draft) -> Article:
    title = _one_line(draft.title or "")
    paragraphs = _without_title(title, [p for p in map(_one_line, draft.paragraphs) if p])
    if not paragraphs:
        raise _Rejected(
            "only a headline, no article text" if title else "empty after removing page chrome"
        )
    fallback = _shorten(_first_sentence(paragraphs[0]), 100)
    return Article(
        id=_article_id(paragraphs),
        path=info.path,
        title=_shorten(title, _TITLE_MAX) if title else fallback,
        paragraphs=tuple(paragraphs),
        modified=datetime.fromtimestamp(info.mtime_ns / 1e9, tz=UTC),
        section=_optional(draft.section),
        source=_optional(draft.source),
        url=_web_url(draft.url),
        published=_parse_date(draft.published),
        language=_optional(draft.language),
    )


def _one_line(text: str) -> str:
    return " ".join(_normalise(text).split())


def _optional(text: str | None) -> str | None:
    return _one_line(text or "") or None


def _web_url(url: str | None) -> str | None:
    # Only http(s): the URL becomes a link in the email, and javascript: must never be one.
    url = (url or "").strip()
    return url if re.fullmatch(r"https?://[^\s<>\"']+", url, re.I) else None


def _without_title(title: str, paragraphs: list[str]) -> list[str]:
    """Pages often repeat the headline as a first paragraph; keep it once, as the title."""
    key = _compare_key(title)
    for i, paragraph in enumerate(paragraphs[:3]):
        if key and _compare_key(paragraph) == key:
            return paragraphs[:i] + paragraphs[i + 1 :]
    return paragraphs


def _compare_key(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


_SENTENCE = re.compile(r".{20,}?[.!?…](?=\s|$)")


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


_ASCII = str.maketrans(
    {"‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "“": '"', "”": '"', "„": '"', "‟": '"'}
    | {"″": '"', "«": '"', "»": '"', "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-"}
    | {"―": "-", "−": "-", "…": "..."}
)


def _article_id(paragraphs: list[str]) -> str:
    """Hash of the body alone, blind to case, spacing, quote and dash style: same story, same id."""
    text = unicodedata.normalize("NFKC", " ".join(paragraphs).translate(_ASCII)).casefold()
    return hashlib.sha256("".join(text.split()).encode()).hexdigest()[:16]


def _parse_date(value: str | None) -> datetime | None:
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
