"""Tests for digest.sources.reading: size limits and files that cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_seed

from digest.errors import SourceError
from digest.sources import Article, file_info, list_files, read_article

NOW = 2_000_000_000.0  # the clock every listing test uses
LIMIT = 5_000_000
BODY = (
    "SAN SALVADOR — Kast visited the prison on Friday, officials said.\n\n"
    "“We are ready to work,” the statement said. It’s a long road.\n\n"
    "Inmates do not receive visitors and are not allowed outside."
)


def read(path: Path, *, max_bytes: int = LIMIT) -> Article:
    return read_article(file_info(path), max_bytes=max_bytes)


def test_too_large_file_names_the_setting(tmp_path: Path) -> None:
    path = write_seed(tmp_path, "big.txt", "Title\n\n" + "word " * 50_000, now=NOW)
    with pytest.raises(SourceError) as caught:
        read(path, max_bytes=200_000)
    assert caught.value.reason == (
        "too large (0.3 MB > 0.2 MB), raise DIGEST_MAX_FILE_BYTES to include it"
    )
    assert read(path, max_bytes=300_000).word_count == 50_000


def test_file_deleted_after_listing_disappeared(tmp_path: Path) -> None:
    path = write_seed(tmp_path, "gone.txt", BODY, now=NOW)
    (info,), _ = list_files(tmp_path, now=NOW, settle_seconds=5)
    path.unlink()
    with pytest.raises(SourceError) as caught:
        read_article(info, max_bytes=LIMIT)
    assert caught.value.reason == "disappeared before it could be read"
    assert str(caught.value).startswith(str(path))


def test_unreadable_file_reads_or_is_skipped(tmp_path: Path) -> None:
    # As root the permission check does not apply, so either outcome is fine; nothing else is.
    path = write_seed(tmp_path, "secret.txt", "Title\n\n" + BODY, now=NOW)
    path.chmod(0)
    try:
        assert read(path).title == "Title"
    except SourceError as exc:
        assert exc.reason == "cannot read (permission denied)"
    finally:
        path.chmod(0o644)
