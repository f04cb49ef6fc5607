"""Find article files, read them safely, and turn each into an `Article`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


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
