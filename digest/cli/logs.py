"""Where the "digest" logger's lines go: stderr, and `--log-file` for serve and web."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from digest.errors import UsageError

# `--verbose` on a one-off command: the lines read like its other output
SHORT = logging.Formatter("digest: %(message)s")
# `digest serve` and `digest web` run for weeks: each line says when and how bad
TIMESTAMPED = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S%z")


def send_log(form: logging.Formatter, log_file: Path | None = None) -> None:
    """Send the INFO lines of logger "digest" to stderr, and appended to `log_file` if given."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        try:
            handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
        except OSError as exc:
            raise UsageError(
                f"--log-file {log_file}: cannot write ({exc.strerror})", "give a writable path"
            ) from exc
    log = logging.getLogger("digest")
    for old in list(log.handlers):
        log.removeHandler(old)
        old.close()
    for handler in handlers:
        handler.setFormatter(form)
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
