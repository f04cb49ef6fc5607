"""`digest feeds ...` and `digest fetch` through the real command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import run_cli
from feedsite import Item, Site, rss, serve
from pytest_httpserver import HTTPServer
from werkzeug import Response

from digest.cli.main import cli

LOCAL = {"DIGEST_ALLOW_PRIVATE_ADDRESSES": "true", "DIGEST_FETCH_DELAY": "0"}


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    yield from serve()


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env or {}, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize("name", sorted(cli.commands["feeds"].commands))  # type: ignore[attr-defined]
def test_every_feeds_command_has_help_with_an_example(name: str) -> None:
    code, out = invoke("feeds", name, "--help")
    assert code == 0 and "Example: digest feeds " + name in " ".join(out.split())


def test_every_feeds_option_has_help_text() -> None:
    group = cli.commands["feeds"]
    assert isinstance(group, click.Group)
    for command in [*group.commands.values(), cli.commands["fetch"]]:
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{command.name} {param.opts}"


def two_feeds(site: Site) -> tuple[str, str]:
    site.feed(
        "/a.xml", rss("Alpha News", [Item(f"a{i}", f"A {i}", None, None, "x") for i in range(3)])
    )
    site.feed("/b.xml", rss("Beta Wire", [Item("b1", "B 1", None, None, "y")]))
    return site.url("/a.xml"), site.url("/b.xml")


def test_add_list_remove(httpserver: HTTPServer, tmp_path: Path) -> None:
    a, b = two_feeds(Site(httpserver))
    assert invoke("feeds", "add", a, b, env=LOCAL) == (
        0,
        f"added: Alpha News — 3 entries ({a})\nadded: Beta Wire — 1 entries ({b})\n",
    )
    assert invoke("feeds", "add", a, env=LOCAL)[1] == f"already polled: {a}\n"
    code, out = invoke("feeds", "list", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["url"] for r in rows] == [a, b]
    assert set(rows[0]) == {"url", "title", "status", "last_success", "last_error", "next_poll"}
    assert rows[0]["status"] == "active" and rows[0]["last_success"] is None
    assert rows[0]["title"] == "Alpha News"
    assert invoke("feeds", "remove", a)[0] == 0
    assert "Alpha" not in invoke("feeds", "list")[1]


def test_the_same_feed_with_tracking_parameters_is_the_same_feed(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    a, _ = two_feeds(Site(httpserver))
    assert invoke("feeds", "add", a, env=LOCAL)[0] == 0
    code, out = invoke("feeds", "add", f"{a}?utm_source=newsletter&utm_medium=email", env=LOCAL)
    assert (code, out) == (0, f"already polled: {a}\n")
    assert len(invoke("feeds", "list", "--json")[1].splitlines()) == 1


PAGE = """<!doctype html><html><head><title>Home | Riverside Post</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="Top stories" href="/rss/top.xml">
<link rel="alternate" type="application/atom+xml" title="Sport" href="{sport}">
<link rel="alternate" hreflang="fr" href="/fr/">
</head><body><h1>Riverside Post</h1><p>Today's news.</p></body></html>"""


@pytest.mark.slow
def test_a_web_page_is_followed_to_the_feed_it_announces(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    site = Site(httpserver)
    sport = site.url("/rss/sport.atom")
    page = PAGE.format(sport=sport)
    site.route("/", lambda r: Response(page, content_type="text/html; charset=utf-8"))
    items = [Item(f"t{i}", f"Top {i}", None, None, "z") for i in range(25)]
    site.feed("/rss/top.xml", rss("Riverside Post: Top stories", items))
    result = run_cli("feeds", "add", site.url("/"), env=LOCAL)
    assert result.code == 0, result.err
    top = site.url("/rss/top.xml")
    assert result.out == (
        f"added: Riverside Post: Top stories — 25 entries (the feed {top}, announced by"
        f" {site.url('/')}); it announces 1 more: {sport}\n"
    )
    listed = run_cli("feeds", "list", "--json").out
    assert json.loads(listed)["url"] == top  # the feed is polled, not the page
    assert site.hits("/rss/sport.atom") == 0  # the others are named, not fetched


@pytest.mark.slow
def test_neither_a_feed_nor_a_page_announcing_one_is_exit_2_and_one_line(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    site = Site(httpserver)
    a, _ = two_feeds(site)
    bare = "<html><head><title>Hi</title></head><body><p>No feeds here.</p></body></html>"
    site.route("/home", lambda r: Response(bare, content_type="text/html"))
    site.route("/logo.png", lambda r: Response(b"\x89PNG\r\n", content_type="image/png"))
    site.route("/missing", lambda r: Response("no", status=404))
    for path, why in [
        ("/home", "is a web page that announces no feed"),
        ("/logo.png", "is not a feed (RSS, Atom or JSON Feed)"),
        ("/missing", "answered HTTP 404"),
    ]:
        result = run_cli("feeds", "add", site.url(path), env=LOCAL)
        assert result.code == 2 and result.out == "", (path, result)
        assert result.err.count("\n") == 1 and why in result.err, (path, result.err)
    both = run_cli("feeds", "add", "file:///etc/passwd", a, env=LOCAL)
    assert both.code == 2 and "not an http(s) URL" in both.err and both.err.count("\n") == 1
    assert both.out.startswith("added: Alpha News")  # bad input never stops good input
    noscheme = run_cli("feeds", "add", "example.org/feed.xml")
    assert noscheme.code == 2 and noscheme.err.count("\n") == 1
    assert "did you mean https://example.org/feed.xml" in noscheme.err
    assert run_cli("feeds", "list", "--json").out.count("\n") == 1
    missing = run_cli("feeds", "remove", "https://nope.example.org/")
    assert missing.code == 2 and "digest feeds list" in missing.err


def test_opml_import_and_export_round_trip(tmp_path: Path) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<opml version="2.0"><body><outline text="News">'
        '<outline text="A" xmlUrl="https://a.example.org/feed"/>'
        '<outline text="Inner"><outline text="B" xmlUrl="https://b.example.org/feed"/></outline>'
        '<outline text="Mail" xmlUrl="mailto:x@example.org"/>'
        "</outline></body></opml>",
        encoding="utf-8",
    )
    code, out = invoke("feeds", "import", str(opml))  # the mailto outline is named, exit 1
    assert code == 1 and "skipped outline mailto:x@example.org: not an http(s) URL" in out
    assert out.endswith("\nimported 2 new feed(s), 0 already polled, 1 skipped\n")
    code, out = invoke("feeds", "export")
    assert code == 0 and out.startswith("<?xml")
    again = tmp_path / "again.opml"
    again.write_text(out, encoding="utf-8")
    assert invoke("feeds", "import", str(again))[1] == "imported 0 new feed(s), 2 already polled\n"


@pytest.mark.slow
def test_fetch_prints_one_line_per_feed(httpserver: HTTPServer, tmp_path: Path) -> None:
    site = Site(httpserver)
    site.feed("/good", rss("Good", [Item("1", "Hello", None, None, "A teaser only.")]))
    answers = iter([Response(rss("Soon bad", []), content_type="application/rss+xml")])
    site.route("/bad", lambda r: next(answers, Response("no", status=404)))
    (tmp_path / "seeds").mkdir()
    assert run_cli("feeds", "add", site.url("/good"), site.url("/bad"), env=LOCAL).code == 0
    result = run_cli("fetch", env=LOCAL)
    assert result.code == 0, result.err
    good, bad = result.out.splitlines()
    assert good == f"{site.url('/good')}: 1 new"
    assert bad.startswith(f"{site.url('/bad')}: HTTP 404;") and "digest feeds remove" in bad
    listed = run_cli("feeds", "list").out
    assert "failing" in listed and "HTTP 404" in listed
    status = run_cli("status").out
    assert "feeds: 2 (1 failing, 0 gone" in status
    waiting = run_cli("fetch", env=LOCAL).out  # DIGEST_FEED_INTERVAL=15m
    assert waiting.startswith("no feed is due (the next at ")
    assert waiting.endswith("; poll every feed now with: digest fetch --all\n")
    shorter = run_cli("fetch", env=LOCAL | {"DIGEST_FEED_INTERVAL": "0"})
    assert shorter.out.startswith(f"{site.url('/good')}: not modified")  # takes effect at once


def test_bad_feed_settings_are_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli("fetch", env={"DIGEST_FEED_INTERVAL": "soon"})
    assert result.code == 2 and "DIGEST_FEED_INTERVAL" in result.err
