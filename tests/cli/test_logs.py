"""Tests for digest.cli.logs: where the "digest" logger's lines go, and how they look."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.cli import logs
from digest.errors import UsageError

log = logging.getLogger("digest")


@pytest.fixture(autouse=True)
def restore_logger() -> Iterator[None]:
    """Leave the logger as it was: other tests read it through caplog (propagation)."""
    saved = (list(log.handlers), log.level, log.propagate)
    yield
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    for handler in saved[0]:
        log.addHandler(handler)
    log.setLevel(saved[1])
    log.propagate = saved[2]


def test_verbose_lines_read_like_the_commands_other_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.send_log(logs.SHORT)
    logs.send_log(logs.SHORT)  # set up twice: still one line per message
    log.info("3 new files")
    log.debug("not shown")
    assert capsys.readouterr().err == "digest: 3 new files\n"


def test_serve_lines_are_timestamped_on_stderr_and_in_the_log_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "digest.log"
    logs.send_log(logs.TIMESTAMPED, log_file)
    log.warning("skipped: another digest run holds the lock")
    err = capsys.readouterr().err
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4} WARNING skipped: .*\n", err)
    logs.send_log(logs.SHORT)  # closes the file
    assert log_file.read_text(encoding="utf-8") == err


def test_an_unwritable_log_file_is_one_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--log-file .*missing.*: cannot write") as caught:
        logs.send_log(logs.TIMESTAMPED, tmp_path / "missing" / "digest.log")
    assert "writable path" in str(caught.value)
