"""Tests for intake.files.listing: which files are listed, symlink rules, the settle window."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from helpers import BODY, FIXTURES, LIMIT, write_seed

from digest.errors import SettingsError, SourceError
from digest.intake.files import file_info, list_files, read_article
from digest.records import FileVersion

FIXTURES = FIXTURES / "sources"
REAL_SEED = FIXTURES / "washington_times.txt"
NOW = 2_000_000_000.0  # the clock every listing test uses


def listed(folder: Path, settle: float = 5.0) -> tuple[list[str], dict[str, str]]:
    found, skipped = list_files(folder, now=NOW, settle_seconds=settle)
    names = [str(Path(f.path).relative_to(folder)) for f in found]
    return names, {str(s.path.relative_to(folder)): s.reason for s in skipped}


def test_real_seed_is_listed(tmp_path: Path) -> None:
    write_seed(tmp_path, "000_49638b6ecd2811bf.txt", REAL_SEED.read_bytes(), now=NOW)
    found, skipped = list_files(tmp_path, now=NOW, settle_seconds=5)
    assert [Path(f.path).name for f in found] == ["000_49638b6ecd2811bf.txt"]
    assert skipped == []
    assert found[0].size == REAL_SEED.stat().st_size
    assert found[0].mtime_ns == int((NOW - 60) * 1e9)


def test_listing_finds_articles_sorted_and_recursive(tmp_path: Path) -> None:
    for name in ("b.txt", "a.md", "sub/c.html", "sub/deeper/d.json", "E.TXT", "f.markdown"):
        write_seed(tmp_path, name, BODY, now=NOW)
    write_seed(tmp_path, "notes.pdf", BODY, now=NOW)
    write_seed(tmp_path, "noext", BODY, now=NOW)
    names, skipped = listed(tmp_path)
    assert names == ["E.TXT", "a.md", "b.txt", "f.markdown", "sub/c.html", "sub/deeper/d.json"]
    assert skipped == {}


@pytest.mark.parametrize(
    "name",
    [
        ".hidden.txt",
        ".git/a.txt",
        "draft.txt~",
        "a.txt.tmp",
        "a.txt.part",
        "a.txt.partial",
        "a.txt.crdownload",
        ".a.txt.swp",
        "a.txt.swp",
        "#a.txt#",
        "~$a.txt",
    ],
)
def test_hidden_and_temporary_files_are_ignored(tmp_path: Path, name: str) -> None:
    write_seed(tmp_path, name, BODY, now=NOW)
    assert listed(tmp_path) == ([], {})


def test_fresh_files_wait_for_the_next_run(tmp_path: Path) -> None:
    write_seed(tmp_path, "old.txt", BODY, now=NOW)
    write_seed(tmp_path, "writing.txt", BODY, now=NOW, age_seconds=1.0)
    write_seed(tmp_path, "future.txt", BODY, now=NOW, age_seconds=-2.0)  # a clock a little ahead
    write_seed(
        tmp_path, "far-future.txt", BODY, now=NOW, age_seconds=-3600.0
    )  # skewed clocks must not block forever
    assert listed(tmp_path) == (["far-future.txt", "old.txt"], {})
    assert listed(tmp_path, settle=0)[0] == [
        "far-future.txt",
        "future.txt",
        "old.txt",
        "writing.txt",
    ]


def test_a_folder_named_like_an_article_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "x.txt").mkdir()
    write_seed(tmp_path, "x.txt/inside.txt", BODY, now=NOW)
    assert listed(tmp_path) == (["x.txt/inside.txt"], {})


def test_symlinks_inside_are_followed_outside_are_reported(tmp_path: Path) -> None:
    seeds, outside = tmp_path / "seeds", tmp_path / "outside"
    write_seed(outside, "secret.txt", BODY, now=NOW)
    write_seed(seeds, "real.txt", BODY, now=NOW)
    (seeds / "alias.txt").symlink_to(seeds / "real.txt")
    (seeds / "escape.txt").symlink_to(outside / "secret.txt")
    (seeds / "escape-dir").symlink_to(outside)
    (seeds / "dangling.txt").symlink_to(seeds / "nothing.txt")
    (seeds / "photo.jpg").symlink_to(outside / "secret.txt")  # not an article: not mentioned
    names, skipped = listed(seeds)
    assert names == ["alias.txt", "real.txt"]
    assert skipped == {
        "escape.txt": "symlink points outside the seeds folder",
        "escape-dir": "symlink points outside the seeds folder",
        "dangling.txt": "broken symlink",
    }


def test_symlink_loops_are_survived(tmp_path: Path) -> None:
    write_seed(tmp_path, "sub/a.txt", BODY, now=NOW)
    (tmp_path / "sub" / "up").symlink_to(tmp_path)  # a folder cycle
    (tmp_path / "self.txt").symlink_to(tmp_path / "self.txt")
    (tmp_path / "ping.txt").symlink_to(tmp_path / "pong.txt")
    (tmp_path / "pong.txt").symlink_to(tmp_path / "ping.txt")
    names, skipped = listed(tmp_path)
    assert names == ["sub/a.txt"]
    assert skipped == {n: "symlink loop" for n in ("ping.txt", "pong.txt", "self.txt")}


def test_a_missing_seeds_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        list_files(tmp_path / "nope", now=NOW, settle_seconds=5)
    assert caught.value.exit_code == 2
    assert "DIGEST_SEEDS_DIR" in str(caught.value) and "no such folder" in str(caught.value)
    write_seed(tmp_path, "file", "x", now=NOW)
    with pytest.raises(SettingsError, match="not a folder"):
        list_files(tmp_path / "file", now=NOW, settle_seconds=5)


def test_listing_uses_the_real_clock_too(tmp_path: Path) -> None:
    (tmp_path / "new.txt").write_text(BODY)
    found, _ = list_files(tmp_path, now=time.time(), settle_seconds=60)
    assert found == []


def test_file_info_of_a_missing_or_odd_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="disappeared"):
        file_info(tmp_path / "nope.txt")
    with pytest.raises(SourceError, match="not a regular file"):
        file_info(tmp_path)


def test_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match="not a regular file"):
        read_article(FileVersion(str(fifo), 0, 0, 0), max_bytes=LIMIT)
    _, skipped = listed(tmp_path)
    assert skipped == {"pipe.txt": "not a regular file"}


def test_fetched_seeds_under_feeds_need_no_settling_other_fresh_files_wait(
    tmp_path: Path,
) -> None:
    # intake.feeds.pages writes them atomically (temporary file, fsync, rename): never half-written
    for name in ("feeds/wire-1a2b/abc.json", "feeds.json", "other/abc.json", "fresh.txt"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"text": "x"}', encoding="utf-8")
        os.utime(path, (NOW - 1, NOW - 1))
    names, _ = listed(tmp_path, settle=60)
    assert names == ["feeds/wire-1a2b/abc.json"]
