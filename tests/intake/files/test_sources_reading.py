"""Tests for digest.intake.files.reading: size limits and files that cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import BODY, LIMIT, read_file, write_seed

from digest.errors import SourceError
from digest.intake.files import list_files, read_article

NOW = 2_000_000_000.0  # the clock every listing test uses


def test_too_large_file_names_the_setting(tmp_path: Path) -> None:
    path = write_seed(tmp_path, "big.txt", "Title\n\n" + "word " * 50_000, now=NOW)
    with pytest.raises(SourceError) as caught:
        read_file(path, max_bytes=200_000)
    assert caught.value.reason == (
        "too large (0.3 MB > 0.2 MB), raise DIGEST_MAX_FILE_BYTES to include it"
    )
    assert read_file(path, max_bytes=300_000).word_count == 50_000


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
        assert read_file(path).title == "Title"
    except SourceError as exc:
        assert exc.reason == "cannot read (permission denied)"
    finally:
        path.chmod(0o644)
