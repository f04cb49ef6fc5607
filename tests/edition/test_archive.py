"""Tests for edition.archive: a standalone page per digest sent, and an index newest first."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SeedWriter
from sample_digest import sample_digest

from digest.edition.archive import ArchiveError, index_page, keep, listing
from digest.records import Reporter
from digest.runs import run as pipeline
from digest.settings import Settings

WHEN = datetime(2024, 3, 5, 7, 30, tzinfo=UTC)


def test_keep_writes_the_whole_digest_and_the_index(tmp_path: Path) -> None:
    digest = sample_digest()
    page = keep(tmp_path / "archive", "digest-20240305-073000-abcdef12", digest)
    assert page == tmp_path / "archive" / "digest-20240305-073000-abcdef12.html"
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # No inbox clips the archive: the titles the email only counted are listed.
    assert "Counted 1239" in html and "and 1,240 more" not in html
    index = (tmp_path / "archive" / "index.html").read_text(encoding="utf-8")
    assert 'href="digest-20240305-073000-abcdef12.html"' in index
    assert "News digest — Tue 05 Mar 2024: 1,248 new articles" in index
    assert "sent 2024-03-05 07:30" in index


def test_index_lists_newest_first_and_only_digest_pages(tmp_path: Path) -> None:
    for stem in ("digest-20240301-070000-a", "digest-20240305-070000-b", "digest-20240303-070000"):
        (tmp_path / f"{stem}.html").write_text(f"<title>{stem} &amp; more</title>")
    (tmp_path / "notes.html").write_text("<title>not a digest</title>")
    (tmp_path / "digest-latest.html").write_text("<title>not dated</title>")
    items = listing(tmp_path)
    assert [i.href for i in items] == [
        "digest-20240305-070000-b.html",
        "digest-20240303-070000.html",
        "digest-20240301-070000-a.html",
    ]
    assert items[0].subject == "digest-20240305-070000-b & more"
    assert items[0].created == "2024-03-05 07:00"


def test_index_escapes_subjects_and_falls_back_to_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "digest-20240305-070000-x.html").write_text(
        "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>"
    )
    (tmp_path / "digest-20240304-070000-y.html").write_text("<p>no title</p>")
    index = index_page(tmp_path, title="Morning <b>news</b>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert "<script" not in index and "<b>" not in index
    assert ">digest-20240304-070000-y</a>" in index


def test_empty_archive_index(tmp_path: Path) -> None:
    assert "No digests yet." in index_page(tmp_path)


def test_unwritable_archive_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "archive"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(ArchiveError) as info:
        keep(blocker, "digest-20240305-073000-x", sample_digest())
    assert "DIGEST_ARCHIVE_DIR" in str(info.value) and "\n" not in str(info.value)


def test_user_template_overrides_the_index(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "archive_index.html.j2").write_text(
        "{% for item in items %}[{{ item.subject }}]{% endfor %}"
    )
    (tmp_path / "digest-20240305-070000-x.html").write_text("<title>A & B</title>")
    assert index_page(tmp_path, templates_dir=templates) == "[A &amp; B]"


# --- the pipeline keeps what a real run queues, never a dry run's or a preview's


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        seeds_dir=tmp_path / "seeds",
        state_dir=tmp_path / "state",
        outbox_dir=tmp_path / "outbox",
        archive_dir=tmp_path / "archive",
        settle_seconds=0,
        summarizer="lead",
    )


def _seed(seeds: SeedWriter, n: int) -> None:
    body = f"The council met on day {n}. It approved budget {n}. Parks get more money."
    seeds(f"a{n}.json", json.dumps({"title": f"Budget story {n}", "text": body}))


def test_a_real_run_is_archived_and_a_dry_run_or_preview_is_not(
    tmp_path: Path, seeds: SeedWriter
) -> None:
    settings = _settings(tmp_path)
    _seed(seeds, 1)
    quiet = Reporter(lambda line: None)
    now = datetime.now(UTC)  # seed files are dated an hour ago: they must count as settled
    pipeline.run_once(settings, dry_run=True, reporter=quiet, clock=lambda: now)
    pipeline.preview(settings, reporter=quiet, clock=lambda: now)
    assert not settings.archive_dir.exists()

    first = pipeline.run_once(settings, reporter=quiet, clock=lambda: now)
    assert first.status == "sent" and first.eml_path is not None
    pages = sorted(p.name for p in settings.archive_dir.iterdir())
    assert pages == [f"{first.eml_path.stem}.html", "index.html"]
    assert "Budget story 1" in (settings.archive_dir / pages[0]).read_text(encoding="utf-8")

    _seed(seeds, 2)
    second = pipeline.run_once(settings, reporter=quiet, clock=lambda: now + timedelta(days=1))
    assert second.status == "sent" and second.eml_path is not None
    index = (settings.archive_dir / "index.html").read_text(encoding="utf-8")
    hrefs = re.findall(r'href="(digest-[^"]+)"', index)
    assert hrefs == [f"{second.eml_path.stem}.html", f"{first.eml_path.stem}.html"]


def test_archive_failure_is_reported_and_the_digest_still_goes_out(
    tmp_path: Path, seeds: SeedWriter
) -> None:
    settings = _settings(tmp_path)
    settings.archive_dir.write_text("not a folder")
    _seed(seeds, 1)
    said: list[str] = []
    result = pipeline.run_once(settings, reporter=Reporter(said.append), clock=lambda: WHEN)
    assert result.status == "sent" and result.exit_code == 0
    assert any(line.startswith("archive: ") and "DIGEST_ARCHIVE_DIR" in line for line in said)
