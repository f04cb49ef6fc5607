"""Keep every edition as a standalone HTML page, with an index.html newest first.

The archive page lists every article of its digest by title or in full: no
inbox clips it, so the "and 1,240 more" of the email are all there. The index
is rebuilt from the folder itself each time, so deleting a page by hand is
all it takes to drop it.

The index lists each edition once, as the full digest. A reader's own copy (their
filters) is kept apart in READERS_FOLDER, never listed: it says who reads what,
and opens only through the signed link in their email (the web's /copy/TOKEN).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from digest.disk import write_atomic
from digest.edition import compose, render
from digest.edition.compose import Digest
from digest.errors import DigestError

INDEX_TEMPLATE = "archive_index.html.j2"
INDEX_NAME = "index.html"
READERS_FOLDER = "readers"  # readers' own copies, under the archive folder, never listed
_PAGE_NAME = re.compile(r"^digest-(\d{8}-\d{6})(-.*)?\.html$")
_TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL | re.IGNORECASE)
_HEAD_CHARS = 65_536  # the <title> sits in <head>, after at most a <style> block


class ArchiveError(DigestError):
    """The archive folder cannot be written; the digest itself still goes out."""


@dataclass(frozen=True)
class ArchivedDigest:
    """One archived page as the index template sees it."""

    href: str  # the page's file name, relative to index.html
    subject: str  # the page's <title>: the email's subject
    created: str  # when it was sent, e.g. "2024-03-05 07:30"


def keep(
    archive_dir: Path,
    stem: str,
    digest: Digest,
    *,
    templates_dir: Path | None = None,
    title: str = "News digest",
    unsubscribe: str | None = None,
    listed: bool = True,
) -> Path:
    """Save the whole digest as `<stem>.html`, then rewrite index.html.

    `stem` starts "digest-YYYYmmdd-HHMMSS" (the outbox name), which orders the index.
    Not `listed`: a reader's copy, saved in READERS_FOLDER; the index stays as it is.
    """
    page = render.render(
        compose.unabridged(digest),
        templates_dir=templates_dir,
        title=title,
        unsubscribe=unsubscribe,
    ).html
    path = (archive_dir if listed else archive_dir / READERS_FOLDER) / f"{stem}.html"
    try:
        write_atomic(path, page.encode("utf-8"))
        if listed:
            index = index_page(archive_dir, templates_dir=templates_dir, title=title)
            write_atomic(archive_dir / INDEX_NAME, index.encode("utf-8"))
    except OSError as exc:
        raise ArchiveError(
            f"cannot write the archive in {archive_dir}: {exc.strerror or exc}",
            "check DIGEST_ARCHIVE_DIR; the digest itself is sent regardless",
        ) from exc
    return path


def index_page(
    archive_dir: Path, *, templates_dir: Path | None = None, title: str = "News digest"
) -> str:
    """The archive's index.html: every archived digest, newest first."""
    context = {"title": title, "items": tuple(listing(archive_dir))}
    return render.render_page(INDEX_TEMPLATE, context, templates_dir=templates_dir)


def listing(archive_dir: Path) -> list[ArchivedDigest]:
    """The archived pages, newest first (their names start with the time they were sent)."""
    pages = [p for p in archive_dir.glob("digest-*.html") if _PAGE_NAME.match(p.name)]
    return [_describe(p) for p in sorted(pages, key=lambda p: p.name, reverse=True)]


def _describe(path: Path) -> ArchivedDigest:
    match = _PAGE_NAME.match(path.name)
    assert match is not None
    created = datetime.strptime(match.group(1), "%Y%m%d-%H%M%S")
    with path.open(encoding="utf-8", errors="replace") as fh:
        found = _TITLE.search(fh.read(_HEAD_CHARS))
    subject = " ".join(html.unescape(found.group(1)).split()) if found else ""
    return ArchivedDigest(quote(path.name), subject or path.stem, f"{created:%Y-%m-%d %H:%M}")
