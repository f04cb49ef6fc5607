"""errors.path_error: an OS error on a path as one line naming the setting whose path it is."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from digest.errors import path_error

PATHS = {"DIGEST_OUTBOX_DIR": Path("out"), "DIGEST_ARCHIVE_DIR": Path("out/archive")}


@pytest.mark.parametrize(
    ("code", "where", "line", "status"),
    [
        (errno.ENOSPC, "out/a.eml", "DIGEST_OUTBOX_DIR='out' (out/a.eml): the disk is full", 1),
        (errno.EROFS, "out/archive/x.html", "DIGEST_ARCHIVE_DIR='out/archive' (out/archive/x", 2),
        (errno.EACCES, "out", "DIGEST_OUTBOX_DIR='out': permission denied", 2),
        (errno.ENOTDIR, "elsewhere/x", "elsewhere/x: a part of the path is a file", 2),
        (errno.ENOSPC, None, "the disk is full; free some space there", 1),
    ],
)
def test_the_deepest_setting_is_named_and_the_status_follows_the_kind(
    code: int, where: str | None, line: str, status: int
) -> None:
    error = path_error(OSError(code, "ignored", where), PATHS)
    assert str(error).startswith(line) and error.exit_code == status
    assert "\n" not in str(error)
