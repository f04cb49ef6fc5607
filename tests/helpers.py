"""The one place tests build an `Article`, write a seed file, load bytes as a seed would be,
or stop the clock."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from digest.errors import SourceError
from digest.intake.files import file_info, parse_article, read_article
from digest.records import Article, FileVersion

# The tests folder and the repository: test files sit in folders that mirror the package.
TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"

CREATED = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)


# A short article body with a dateline, curly quotes and an apostrophe (the loader tests' seed).
BODY = (
    "SAN SALVADOR — Kast visited the prison on Friday, officials said.\n\n"
    "“We are ready to work,” the statement said. It’s a long road.\n\n"
    "Inmates do not receive visitors and are not allowed outside."
)
LIMIT = 5_000_000  # DIGEST_MAX_FILE_BYTES's default


def read_file(path: Path, *, max_bytes: int = LIMIT) -> Article:
    """The article the loader reads from one file, as a run would."""
    return read_article(file_info(path), max_bytes=max_bytes)


def make_article(**overrides: Any) -> Article:
    """An `Article` with plain defaults; pass any field to change it."""
    values: dict[str, Any] = {
        "id": "article-1",
        "path": Path("seeds/article-1.txt"),
        "title": "A headline",
        "paragraphs": ("Some text.",),
        "modified": CREATED,
    }
    return Article(**(values | overrides))


def write_seed(
    folder: Path,
    name: str,
    text: str | bytes,
    *,
    age_seconds: float = 60,
    now: float | None = None,
    mtime_ns: int | None = None,
) -> Path:
    """Write a seed file dated `age_seconds` before `now` (the real clock by default): settled.

    `mtime_ns` dates it exactly instead (a file swapped in under the same time stamp).
    """
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    if mtime_ns is None:
        stamp = (time.time() if now is None else now) - age_seconds
        mtime_ns = int(stamp * 1e9)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def parse_file(name: str, content: str | bytes) -> Article:
    """`content` loaded as a seed file called `name` would be (its suffix picks the format)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return parse_article(FileVersion(name, len(data), 0, 0), data)


def skip_reason(name: str, content: str | bytes) -> str:
    """Why `content`, as a seed file called `name`, is skipped (it must be)."""
    with pytest.raises(SourceError) as caught:
        parse_file(name, content)
    return caught.value.reason


class FakeClock:
    """A clock that moves only when told: call it for the time (a `Clock`), `monotonic()` for
    seconds since it was made, `sleep()` to pass time as a wait, `advance()` as work."""

    def __init__(self, now: datetime = CREATED) -> None:
        self.now = now
        self.start = now
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return (self.now - self.start).total_seconds()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)
