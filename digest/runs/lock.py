"""The run lock: only one digest run sends at a time (a `flock` on a file in the state folder)."""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from digest.errors import LockBusyError, StateError

LOCK_NAME = "lock"  # inside DIGEST_STATE_DIR


@contextmanager
def run_lock(state_dir: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the run lock, waiting up to `wait` seconds; only one run may send at a time."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, wait)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _acquire(fd: int, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise StateError(f"cannot take the run lock: {exc}") from exc
        if time.monotonic() >= deadline:
            raise LockBusyError(
                "another digest run is in progress (lock held)",
                "this run sent nothing; the other run will deliver",
            )
        time.sleep(0.1)
