"""Reading one listed file, safely and within the size limit, into an `Article`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from digest.errors import SourceError
from digest.intake.files.article import Rejected, finish
from digest.intake.files.decoding import decode, looks_binary
from digest.intake.files.formats import parse
from digest.records import Article, FileVersion
from digest.text import clean_text


def suffix_of(name: str) -> str:
    """`Path(name).suffix.lower()`, without building a Path."""
    dot = name.rfind(".")
    slash = name.rfind("/")
    return name[dot:].lower() if slash + 1 < dot < len(name) - 1 else ""


def read_article(info: FileVersion, *, max_bytes: int) -> Article:
    """Read one listed file into an `Article`, or raise `SourceError` saying why it is skipped."""
    return parse_article(info, _read_bytes(Path(info.path), max_bytes))


def parse_article(info: FileVersion, data: bytes) -> Article:
    """Turn one file's bytes into an `Article`; the suffix of `info.path` picks the format."""
    suffix = suffix_of(info.path)
    try:
        raw = decode(data, html=suffix in (".html", ".htm"))
        if looks_binary(raw):
            raise Rejected("binary file (mostly control characters), skipped")
        text = clean_text(raw)
        if not text:
            raise Rejected("empty file")
        return finish(info, parse(text, suffix))
    except Rejected as exc:
        raise SourceError(str(info.path), str(exc)) from None


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
        raise read_error(path, exc) from None
    if st.st_size > max_bytes or len(data) > max_bytes:
        size = f"{_size(max(st.st_size, len(data)))} > {_size(max_bytes)}"
        raise SourceError(
            str(path), f"too large ({size}), raise DIGEST_MAX_FILE_BYTES to include it"
        )
    return data


def read_error(path: Path, exc: OSError) -> SourceError:
    """The `SourceError` an operating system error reading `path` means, in words."""
    if isinstance(exc, FileNotFoundError):
        return SourceError(str(path), "disappeared before it could be read")
    if isinstance(exc, PermissionError):
        return SourceError(str(path), "cannot read (permission denied)")
    return SourceError(str(path), f"cannot read ({exc.strerror or exc})")


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"
