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


def test_add_list_remove(tmp_path: Path) -> None:
    assert invoke("feeds", "add", "https://a.example.org/feed", "https://b.example.org/atom") == (
        0,
        "added: https://a.example.org/feed\nadded: https://b.example.org/atom\n",
    )
    assert invoke("feeds", "add", "https://a.example.org/feed")[1] == (
        "already polled: https://a.example.org/feed\n"
    )
    code, out = invoke("feeds", "list", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["url"] for r in rows] == ["https://a.example.org/feed", "https://b.example.org/atom"]
    assert set(rows[0]) == {"url", "title", "status", "last_success", "last_error", "next_poll"}
    assert rows[0]["status"] == "active" and rows[0]["last_success"] is None
    assert invoke("feeds", "remove", "https://a.example.org/feed")[0] == 0
    assert "a.example.org" not in invoke("feeds", "list")[1]


@pytest.mark.slow
def test_a_bad_url_or_unknown_feed_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = run_cli("feeds", "add", "https://ok.example.org/feed", "file:///etc/passwd")
    assert bad.code == 2 and bad.err.count("\n") == 1 and "not an http(s) URL" in bad.err
    assert "ok.example.org" not in run_cli("feeds", "list").out  # all or nothing
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
    site.route("/bad", lambda r: Response("no", status=404))
    (tmp_path / "seeds").mkdir()
    run_cli("feeds", "add", site.url("/good"), site.url("/bad"))
    result = run_cli("fetch", env=LOCAL)
    assert result.code == 0, result.err
    good, bad = result.out.splitlines()
    assert good == f"{site.url('/good')}: 1 new"
    assert bad.startswith(f"{site.url('/bad')}: HTTP 404;") and "digest feeds remove" in bad
    listed = run_cli("feeds", "list").out
    assert "failing" in listed and "HTTP 404" in listed
    status = run_cli("status").out
    assert "feeds: 2 (1 failing, 0 gone" in status
    assert run_cli("fetch", env=LOCAL).out == "no feed is due\n"  # DIGEST_FEED_INTERVAL=15m


def test_bad_feed_settings_are_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli("fetch", env={"DIGEST_FEED_INTERVAL": "soon"})
    assert result.code == 2 and "DIGEST_FEED_INTERVAL" in result.err
