"""Tests for digest.disk: files appear whole, a first writer wins, no temporary file stays."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from digest.disk import sync_folder, write_atomic, write_new


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "out" / "a.eml"
    write_atomic(path, b"first")
    write_atomic(path, b"second")
    assert path.read_bytes() == b"second"
    assert os.listdir(path.parent) == ["a.eml"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sync_folder(path.parent)


def test_write_new_keeps_the_first_writers_file(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    assert write_new(path, b"one\n") is True
    assert write_new(path, b"two\n") is False
    assert path.read_bytes() == b"one\n"
    assert os.listdir(tmp_path) == ["secret_key"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "index.html"
    write_atomic(path, b"old")

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["index.html"]
