"""Files written whole or not at all: a temporary file in the same folder, fsync, then rename.

A reader (the scan, the web pages, another process) never sees half a file. The temporary
name starts with a dot, so the seeds scan skips it, and it is made with mode 600.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path`, replacing what was there."""
    tmp = _synced_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_new(path: Path, data: bytes) -> bool:
    """Write `data` to `path` unless it exists; False when another writer was first."""
    tmp = _synced_temp(path, data)
    try:
        os.link(tmp, path)  # fails if `path` exists: two writers agree on the first
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def sync_folder(folder: Path) -> None:
    """Make the renames into `folder` durable (once for many files: ~6 ms each here)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _synced_temp(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException as exc:
        Path(name).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # a full disk says nothing of where: the setting is named
        raise
    return Path(name)
