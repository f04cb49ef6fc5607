"""`digest extract`: what the loader reads from a file, as a reader checking an entry sees it."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import REAL_SEED, ROOT
from feedsite import serve
from pytest_httpserver import HTTPServer

from digest.cli.main import cli

NEWS_PAGE = ROOT / "tests" / "fixtures" / "sources" / "html_news_page.html"
FERRY = "Harbour ferry returns after two-year refit"
FIRST = (
    "The harbour ferry that links the old town with the island villages returned to service"
    " on Saturday after a refit that took almost two years and cost twice the original estimate."
)
LAST = (
    "Councillors welcomed the return but said they would ask why the work overran, after"
    " contractors found more corrosion in the hull than the first survey had shown."
)
CHILE = (
    "Chile’s far-right president-elect visits El Salvador mega-prison, plans to talk security"
    " with Bukele"
)


def extract(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--env-file", str(tmp_path / "none.env"), "extract", *args])


def test_an_html_page_shows_its_main_text_and_what_it_says_about_itself(tmp_path: Path) -> None:
    result = extract(tmp_path, str(NEWS_PAGE))
    assert result.exit_code == 0, result.output
    head, text = result.stdout.split("\n\n", 1)
    assert head.splitlines() == [
        f"== {NEWS_PAGE}",
        f"title:     {FERRY}",
        "section:   -",
        "source:    Coastline Courier",
        "published: 2024-09-14T07:30:00+01:00",
        "url:       https://coastline.example/news/harbour-ferry-returns",
        "language:  en-GB",
    ]
    paragraphs = text.strip().split("\n\n")
    assert paragraphs[0] == FIRST and paragraphs[-1] == LAST and len(paragraphs) == 4
    for chrome in ("Facebook", "cookies", "Related stories", "newsletter", "About time too"):
        assert chrome not in result.stdout, chrome


def test_json_gives_the_path_and_every_field_with_paragraphs_a_blank_line_apart(
    tmp_path: Path,
) -> None:
    result = extract(tmp_path, "--json", str(NEWS_PAGE))
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    fields = ["path", "title", "section", "source", "published", "url", "language", "text"]
    assert list(record) == fields
    assert record["path"] == str(NEWS_PAGE)
    assert record["title"] == FERRY
    assert record["source"] == "Coastline Courier"
    assert record["published"] == "2024-09-14T07:30:00+01:00"
    assert record["url"] == "https://coastline.example/news/harbour-ferry-returns"
    assert record["language"] == "en-GB"
    assert record["text"].startswith(FIRST + "\n\nAround two hundred passengers")
    assert record["text"].endswith("\n\n" + LAST)


def test_the_real_scraped_seed_keeps_its_chrome_rules(tmp_path: Path) -> None:
    result = extract(tmp_path, "--json", str(REAL_SEED))
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["title"] == CHILE
    assert record["source"] == "The Washington Times"  # from its copyright line, which is gone
    assert record["text"].startswith("SAN SALVADOR — Chile’s far-right President-elect")
    assert "Copyright" not in record["text"] and "Source link" not in record["text"]
    assert record["published"] is None and record["language"] is None


def test_a_missing_file_is_one_line_naming_it_and_the_others_still_print(tmp_path: Path) -> None:
    missing = tmp_path / "nope.html"
    result = extract(tmp_path, "--json", str(missing), str(NEWS_PAGE), str(REAL_SEED))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"digest: error: {missing}: no such file"]
    titles = [json.loads(line)["title"] for line in result.stdout.splitlines()]
    assert titles == [FERRY, CHILE]


def test_a_file_that_is_no_article_says_why(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    copy = tmp_path / "page.htm"
    shutil.copy(NEWS_PAGE, copy)
    result = extract(tmp_path, str(empty), str(copy))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"digest: error: {empty}: empty file"]
    assert f"title:     {FERRY}" in result.stdout


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    yield from serve()


def test_a_url_is_fetched_politely_and_read_like_a_file(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_ALLOW_PRIVATE_ADDRESSES", "true")
    httpserver.expect_oneshot_request("/old").respond_with_data(
        "", status=301, headers={"Location": httpserver.url_for("/news/ferry")}
    )
    httpserver.expect_oneshot_request("/news/ferry").respond_with_data(
        NEWS_PAGE.read_bytes(), content_type="text/html; charset=utf-8"
    )
    result = extract(tmp_path, "--json", httpserver.url_for("/old"))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    # one `url` for a page: the address the page names as its own (canonical), not ours
    assert shown["url"] == "https://coastline.example/news/harbour-ferry-returns"
    assert shown["title"] == FERRY
    assert shown["text"].startswith(FIRST) and shown["text"].endswith(LAST)
    assert "path" not in shown
    httpserver.check_assertions()


def test_a_pages_section_is_shown(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_ALLOW_PRIVATE_ADDRESSES", "true")
    meta = '<head><meta property="article:section" content="Harbour &amp; Coast">'
    page = NEWS_PAGE.read_text(encoding="utf-8").replace("<head>", meta, 1)
    httpserver.expect_request("/s").respond_with_data(page, content_type="text/html")
    copy = tmp_path / "page.html"
    copy.write_text(page, encoding="utf-8")
    result = extract(tmp_path, httpserver.url_for("/s"), str(copy))
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\nsection:   Harbour & Coast\n") == 2  # the page, and as a file


def test_a_url_on_this_machine_is_refused_unless_allowed(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/p").respond_with_data("<p>x</p>", content_type="text/html")
    result = extract(tmp_path, httpserver.url_for("/p"), str(NEWS_PAGE))
    assert result.exit_code == 1
    (line,) = [x for x in result.stderr.splitlines() if x.strip()]
    assert "DIGEST_ALLOW_PRIVATE_ADDRESSES" in line
    assert httpserver.log == []  # refused before any request went out
    assert FERRY in result.stdout  # the file after it still printed


def test_a_missing_page_is_one_line(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGEST_ALLOW_PRIVATE_ADDRESSES", "true")
    httpserver.expect_request("/gone").respond_with_data("nope", status=404)
    result = extract(tmp_path, httpserver.url_for("/gone"))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"digest: error: {httpserver.url_for('/gone')}: the server answered HTTP 404"
    ]
