"""Render a `Digest` into the subject, HTML and plain-text bodies of one email.

This is the only module that imports Jinja2 and css-inline. Templates come
first from the user's `templates_dir` (DIGEST_TEMPLATES_DIR), file by file,
then from the templates shipped with the package, so a user may override just
one of them. The HTML body's <style> rules are then inlined onto the elements
(mail clients drop <style> blocks); only @media rules (dark mode, narrow
screens) stay in a <style> block. With a size budget, the lowest-ranked
entries become titles under "More stories" until the inlined HTML fits.

Template variables, the same for `digest.html.j2` and `digest.txt.j2`:

    title           str    the digest's name, e.g. "News digest"
    subject         str    the email subject, one line
    preheader       str    inbox preview text, plain, at most 120 characters
    created         str    the digest's date for display, e.g. "Tuesday 5 March 2024"
    date_range      str | None  the span of the articles' dates, e.g. "3–5 Mar 2024"
    entries         tuple[EntryView, ...]  articles shown in full, best first, with
                    .title .source .section .url .published (display date or None)
                    .summary (tuple of sentences) .reading_minutes
                    .meta ("source · section · date · N min read")
                    .heading (a section's name when one starts here, else None)
                    .also (other outlets' reports: .source .url) .updated (bool)
    toc             bool   True when there are enough entries for a table of contents
    more            tuple[MoreView, ...]   articles listed by title: .title .source .url
    unlisted_count  int    articles only counted ("and 12 more")
    article_count   int    every article in this digest
    source_count    int    distinct sources among the entries
    unsubscribe     str | None  an https: or mailto: link that stops the digest
    preferences     str | None  the reader's preferences page (subscribers only)
    web_copy        str | None  this digest in the web archive ("View in your browser")
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import css_inline
import jinja2

from digest.edition import compose
from digest.edition import view_model as views
from digest.edition.compose import Digest
from digest.errors import TemplateError

HTML_TEMPLATE = "digest.html.j2"
TEXT_TEMPLATE = "digest.txt.j2"
TEXT_WIDTH = 72

# Python exceptions a template expression can raise by itself ({{ 1 / 0 }}); they
# become TemplateError only when the traceback shows a template line.
_TEMPLATE_RUNTIME_ERRORS = (ArithmeticError, LookupError, TypeError, ValueError)


@dataclass(frozen=True)
class Rendered:
    """The parts of one email that come from the templates."""

    subject: str
    html: str  # CSS inlined; within the budget unless even the bare frame is larger
    text: str
    preheader: str
    digest: Digest  # as rendered: entries over the budget moved to "More stories"


def render(
    digest: Digest,
    *,
    templates_dir: Path | None = None,
    title: str = "News digest",
    unsubscribe: str | None = None,
    budget_bytes: int | None = None,
    preferences: str | None = None,
    web_copy: str | None = None,
) -> Rendered:
    """Render the digest's subject, preheader, HTML and plain-text bodies.

    With `budget_bytes`, the inlined HTML is kept within that many bytes (UTF-8)
    by showing the lowest-ranked entries by title only; both bodies show the
    same, fitted digest.
    """
    _check_dir(templates_dir)

    links = {"preferences": preferences, "web_copy": web_copy}  # a reader's own pages

    def html_of(d: Digest) -> str:
        context = views.context(d, title, unsubscribe, **links)
        return inline_css(_render_one(templates_dir, HTML_TEMPLATE, context, html=True))

    digest, html = _fit(digest, budget_bytes, html_of)
    context = views.context(digest, title, unsubscribe, **links)
    return Rendered(
        subject=str(context["subject"]),
        html=html,
        text=_render_one(templates_dir, TEXT_TEMPLATE, context, html=False),
        preheader=str(context["preheader"]),
        digest=digest,
    )


def render_page(
    name: str, context: Mapping[str, object], *, templates_dir: Path | None = None
) -> str:
    """Render another HTML page template, e.g. the archive index (autoescaped, not inlined)."""
    _check_dir(templates_dir)
    return _render_one(templates_dir, name, dict(context), html=True)


def _check_dir(templates_dir: Path | None) -> None:
    if templates_dir is not None and not templates_dir.is_dir():
        raise TemplateError(
            f"DIGEST_TEMPLATES_DIR={templates_dir}: no such folder",
            "create it or unset DIGEST_TEMPLATES_DIR",
        )


# --- CSS inlining and the size budget

# Mail clients drop <style> blocks and never fetch stylesheets; @media rules
# cannot be inlined, so they stay behind for the clients that honour them.
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def inline_css(html: str) -> str:
    """Move the <style> rules onto the elements they match; keep @media rules in <style>."""
    try:
        return _INLINER.inline(html)
    except css_inline.InlineError as exc:
        reason = " ".join(str(exc).split())
        raise TemplateError(
            f"{HTML_TEMPLATE}: its CSS cannot be inlined ({reason})",
            "fix the <style> block of the template",
        ) from exc


def html_size(html: str) -> int:
    """Bytes of HTML as Gmail counts them for clipping (~102 KB): UTF-8, after inlining."""
    return len(html.encode("utf-8"))


def _fit(
    digest: Digest, budget: int | None, html_of: Callable[[Digest], str]
) -> tuple[Digest, str]:
    """The digest with as many full entries, then titles, as keep its HTML within `budget`.

    The lowest-ranked entries (the last) become titles under "More stories"
    first; if the titles alone are still too many, the last ones are only
    counted. Nothing is cut mid-entry.
    """
    html = html_of(digest)
    if budget is None or html_size(html) <= budget:
        return digest, html
    steps = len(digest.entries)
    digest, html = _fewest(steps, functools.partial(compose.demote, digest), html_of, budget)
    if html_size(html) > budget:
        steps = len(digest.more)
        digest, html = _fewest(steps, functools.partial(compose.unlist, digest), html_of, budget)
    return digest, html


def _fewest(
    steps: int,
    make: Callable[[int], Digest],
    html_of: Callable[[Digest], str],
    budget: int,
) -> tuple[Digest, str]:
    """The fewest steps (0..steps) whose HTML fits, by bisection; all steps when none fits.

    Each step shows one more article in a shorter form, so the size only falls.
    """
    tried: dict[int, tuple[Digest, str]] = {}

    def fits(n: int) -> bool:
        if n not in tried:
            candidate = make(n)
            tried[n] = (candidate, html_of(candidate))
        return html_size(tried[n][1]) <= budget

    low, high = 0, steps
    while low < high:
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle + 1
    fits(low)
    return tried[low]


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
    package = Path(__file__).resolve().parents[1]
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


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
