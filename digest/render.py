"""Render a `Digest` into the subject, HTML and plain-text bodies of one email.

This is the only module that imports Jinja2. Templates come first from the
user's `templates_dir` (DIGEST_TEMPLATES_DIR), file by file, then from the
templates shipped with the package, so a user may override just one of them.

Template variables, the same for `digest.html.j2` and `digest.txt.j2`:

    title           str    the digest's name, e.g. "News digest"
    subject         str    the email subject, one line
    preheader       str    inbox preview text, plain, at most 120 characters
    created         str    the digest's date for display, e.g. "Tuesday 5 March 2024"
    entries         tuple[EntryView, ...]  articles shown in full, newest first, with
                    .title .source .section .url .published (display date or None)
                    .summary (tuple of sentences) .reading_minutes
                    .meta ("source · section · date · N min read")
    more            tuple[MoreView, ...]   articles listed by title: .title .source .url
    unlisted_count  int    articles only counted ("and 12 more")
    article_count   int    every article in this digest
    source_count    int    distinct sources among the entries
    digest          Digest the raw value, not cleaned: prefer the fields above

Every string in the views is cleaned of control characters, and `url` is None
unless it is an http(s) URL, so a template may link it without checking.
Filters: `wrap(width=72, indent="", first_indent=None)` fills text to a width
without breaking words or URLs; `number` writes 1240 as "1,240".
"""

from __future__ import annotations

import functools
import textwrap
import traceback
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import jinja2

from digest.compose import Digest, Entry
from digest.errors import TemplateError
from digest.sources import Article

HTML_TEMPLATE = "digest.html.j2"
TEXT_TEMPLATE = "digest.txt.j2"
PREHEADER_LIMIT = 120  # inbox previews show roughly this much
TEXT_WIDTH = 72

# Python exceptions a template expression can raise by itself ({{ 1 / 0 }}); they
# become TemplateError only when the traceback shows a template line.
_TEMPLATE_RUNTIME_ERRORS = (ArithmeticError, LookupError, TypeError, ValueError)


@dataclass(frozen=True)
class Rendered:
    """The parts of one email that come from the templates."""

    subject: str
    html: str
    text: str
    preheader: str


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

    @property
    def meta(self) -> str:
        parts = [self.source, self.section, self.published, f"{self.reading_minutes} min read"]
        return " · ".join(p for p in parts if p)


@dataclass(frozen=True)
class MoreView:
    """One article listed by title under "More stories"."""

    title: str
    source: str | None
    url: str | None


def render(
    digest: Digest, *, templates_dir: Path | None = None, title: str = "News digest"
) -> Rendered:
    """Render the digest's subject, preheader, HTML and plain-text bodies."""
    if templates_dir is not None and not templates_dir.is_dir():
        raise TemplateError(
            f"DIGEST_TEMPLATES_DIR={templates_dir}: no such folder",
            "create it or unset DIGEST_TEMPLATES_DIR",
        )
    context = _context(digest, _line(title) or "News digest")
    return Rendered(
        subject=str(context["subject"]),
        html=_render_one(templates_dir, HTML_TEMPLATE, context, html=True),
        text=_render_one(templates_dir, TEXT_TEMPLATE, context, html=False),
        preheader=str(context["preheader"]),
    )


def _context(digest: Digest, title: str) -> dict[str, object]:
    entries = tuple(_entry_view(e) for e in digest.entries)
    source_count = len(digest.sources)
    return {
        "digest": digest,
        "title": title,
        "subject": _subject(digest, title),
        "preheader": _preheader(digest, entries, source_count),
        "created": _long_date(digest.created),
        "entries": entries,
        "more": tuple(_more_view(a) for a in digest.more),
        "unlisted_count": len(digest.unlisted),
        "article_count": digest.article_count,
        "source_count": source_count,
    }


def _subject(digest: Digest, title: str) -> str:
    count = _plural(digest.article_count, "new article", "new articles")
    return _line(f"{title} — {digest.created:%a %d %b %Y}: {count}")


def _preheader(digest: Digest, entries: tuple[EntryView, ...], source_count: int) -> str:
    if not entries:
        return "No new articles."
    stories = _plural(digest.article_count, "story", "stories")
    origin = f" from {_plural(source_count, 'source', 'sources')}" if source_count else ""
    return _truncate(f"{stories}{origin} — top: {entries[0].title}", PREHEADER_LIMIT)


def _entry_view(entry: Entry) -> EntryView:
    article = entry.article
    return EntryView(
        title=_title(article),
        source=_optional_line(article.source),
        section=_optional_line(article.section),
        url=_safe_url(article.url),
        published=_short_date(article.published) if article.published else None,
        summary=tuple(s for s in map(_line, entry.summary.sentences) if s),
        reading_minutes=entry.reading_minutes,
    )


def _more_view(article: Article) -> MoreView:
    return MoreView(
        title=_title(article),
        source=_optional_line(article.source),
        url=_safe_url(article.url),
    )


def _title(article: Article) -> str:
    return _line(article.title) or "(untitled)"


# --- cleaning: article text is data and must not be able to shape the output


def _clean(value: str) -> str:
    """Drop control characters except newline; tabs become spaces.

    Lone surrogates (from a surrogateescape decode) go too: they cannot be
    encoded into the UTF-8 email later.
    """
    value = value.replace("\r\n", "\n").replace("\t", " ")
    value = value.replace("\u2028", "\n").replace("\u2029", "\n")
    return "".join(ch for ch in value if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs"))


def _line(value: str) -> str:
    """Clean and fold onto one line: titles, names and the subject never hold a newline."""
    return " ".join(_clean(value).split())


def _optional_line(value: str | None) -> str | None:
    return (_line(value) or None) if value else None


def _safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link; anything else (javascript:, data:) is dropped."""
    if not url:
        return None
    url = _clean(url).strip()
    if any(ch.isspace() for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


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


def _short_date(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def _long_date(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


# --- filters registered on both environments


def _wrap(
    value: object, width: int = TEXT_WIDTH, indent: str = "", first_indent: str | None = None
) -> str:
    """Fill text to `width` columns; words and URLs are never split."""
    return textwrap.fill(
        str(value),
        width=width,
        initial_indent=indent if first_indent is None else first_indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _number(value: int) -> str:
    return f"{value:,}"


# --- Jinja environments and errors


def _shipped_dir() -> Path:
    """The templates folder of an installed wheel, else the one of a source checkout."""
    here = Path(__file__).parent
    installed = here / "templates"
    return installed if installed.is_dir() else here.parent / "templates"


@functools.lru_cache(maxsize=16)
def _environment(templates_dir: Path | None, html: bool) -> jinja2.Environment:
    # Two environments rather than select_autoescape: a partial included by the
    # HTML template is escaped whatever its file name.
    dirs = [templates_dir] if templates_dir is not None else []
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(d) for d in [*dirs, _shipped_dir()]])
    env = jinja2.Environment(
        loader=loader,
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=not html,
    )
    env.filters["wrap"] = _wrap
    env.filters["number"] = _number
    return env


def _render_one(
    templates_dir: Path | None, name: str, context: dict[str, object], *, html: bool
) -> str:
    try:
        return _environment(templates_dir, html).get_template(name).render(context)
    except jinja2.TemplateError as exc:
        raise _template_error(exc, name, templates_dir) from exc
    except _TEMPLATE_RUNTIME_ERRORS as exc:
        if _template_frame(exc) is None:
            raise  # a bug in our own Python code, not in a template
        raise _template_error(exc, name, templates_dir) from exc


def _template_error(exc: Exception, name: str, templates_dir: Path | None) -> TemplateError:
    if templates_dir is not None:
        hint = "fix the template or unset DIGEST_TEMPLATES_DIR"
    else:
        hint = "the shipped templates are damaged; reinstall digest"
    return TemplateError(f"{_where(exc, name)}: {_reason(exc, templates_dir)}", hint)


def _where(exc: Exception, name: str) -> str:
    """The template file and line an error points at, as precisely as known."""
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.lineno:
        return f"{exc.filename or exc.name or name} line {exc.lineno}"
    frame = _template_frame(exc)
    if frame is None:
        return name
    return f"{frame.filename} line {frame.lineno}" if frame.lineno else frame.filename


def _reason(exc: Exception, templates_dir: Path | None) -> str:
    if isinstance(exc, jinja2.TemplateNotFound):
        dirs = [templates_dir] if templates_dir is not None else []
        searched = ", ".join(str(d) for d in [*dirs, _shipped_dir()])
        return f"template {exc.name!r} not found in {searched}"
    if isinstance(exc, jinja2.TemplateError):
        text = exc.message or type(exc).__name__
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())  # one line, whatever the exception says


def _template_frame(exc: BaseException) -> traceback.FrameSummary | None:
    """The innermost traceback frame inside a template.

    Jinja rewrites tracebacks so a template's frames carry its file name, its
    own line numbers and one of the names below.
    """
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.endswith(".py")
        and (f.name in ("template", "top-level template code") or f.name.startswith("block "))
    ]
    return frames[-1] if frames else None
