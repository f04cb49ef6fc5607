"""What the loader reads from one file or web page: the fields `digest extract` shows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from digest.errors import DigestError, SourceError
from digest.settings import Settings

_WEB = re.compile(r"https?://", re.I)


@dataclass(frozen=True)
class Readout:
    """One input as the digest would see it; `where` is the path or URL that was asked for."""

    where: str
    is_url: bool
    title: str | None
    section: str | None
    source: str | None
    published: datetime | None
    url: str | None
    language: str | None
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    def as_json(self) -> dict[str, Any]:
        """`path` (or `url` for a page), title, section, source, published, url, language, text."""
        head: dict[str, Any] = {} if self.is_url else {"path": self.where}
        return head | {
            "title": self.title,
            "section": self.section,
            "source": self.source,
            "published": self.published.isoformat() if self.published else None,
            "url": self.url,
            "language": self.language,
            "text": self.text,
        }


def read_out(target: str, settings: Settings) -> Readout:
    """Read one article file, or fetch one http(s) page, as a digest run would read it.

    Raises `DigestError` (a `SourceError` for a file) saying why it cannot be read.
    """
    if _WEB.match(target):
        return _read_page(target, settings)
    return _read_file(Path(target), settings)


def _read_file(path: Path, settings: Settings) -> Readout:
    from digest.intake.files import file_info, read_article

    if not path.exists() and not path.is_symlink():
        raise SourceError(str(path), "no such file")
    article = read_article(file_info(path), max_bytes=settings.max_file_bytes)
    return Readout(
        where=str(path),
        is_url=False,
        title=article.title,
        section=article.section,
        source=article.source,
        published=article.published,
        url=article.url,
        language=article.language,
        paragraphs=article.paragraphs,
    )


def _read_page(url: str, settings: Settings) -> Readout:
    from digest.intake.extract import extract_page

    body, final_url = _fetch_page(url, settings)
    page = extract_page(body, url=final_url)
    if page is None:
        raise DigestError(f"{url}: no article text found on the page")
    return Readout(
        where=url,
        is_url=True,
        title=page.title,
        section=page.section,
        source=page.source,
        published=page.published,
        url=page.url or final_url,
        language=page.language,
        paragraphs=page.paragraphs,
    )


def _fetch_page(url: str, settings: Settings) -> tuple[bytes, str]:
    """The page's body and the URL it came from after redirects, by `digest.intake.fetch`.

    `digest.intake.fetch` (the polite, safe GET that feeds use) is imported only here and only for
    a URL, so reading files never loads the HTTP library.
    """
    from digest.intake import fetch
    from digest.intake.feeds import poll as feedrun

    with fetch.Fetcher(feedrun.policy(settings)) as client:
        answer = client.get(url)
    if not 200 <= answer.status < 300:
        raise DigestError(f"{url}: the server answered HTTP {answer.status}")
    if answer.truncated:
        raise DigestError(f"{url}: the page is over DIGEST_FETCH_MAX_BYTES")
    return answer.body, answer.url
