"""digest.intake.feeds.poll against a real HTTP server on 127.0.0.1 and a real state database."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from feedsite import NOW, Item, Site, atom, body_of, json_feed, later, rss, rss10, serve, stall
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from digest.intake.feeds import catalog as feedlist
from digest.intake.feeds.pages import canonical_url
from digest.intake.feeds.poll import FetchReport, fetch_due
from digest.settings import Settings
from digest.store import FeedRow, Store


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    yield from serve()


@pytest.fixture
def site(httpserver: HTTPServer) -> Site:
    return Site(httpserver)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "seeds").mkdir()
    return Settings(
        seeds_dir=tmp_path / "seeds",
        state_dir=tmp_path / "state",
        feed_interval=0.0,
        fetch_delay=0.0,
        fetch_timeout=2.0,
        allow_private_addresses=True,  # the test server is on 127.0.0.1
    )


def fetch(settings: Settings, now: datetime = NOW) -> FetchReport:
    store = Store.open(settings.state_dir)
    try:
        return fetch_due(settings, store, now=now)
    finally:
        store.close()


def add(settings: Settings, *urls: str) -> None:
    feedlist.add_feeds(settings, urls, now=NOW)


def row(settings: Settings) -> FeedRow:
    (found,) = feedlist.list_feeds(settings)
    return found


def written(settings: Settings) -> list[dict[str, str]]:
    paths = sorted((settings.seeds_dir / "feeds").rglob("*.json"))
    return [json.loads(p.read_text("utf-8")) for p in paths]


def stories(site: Site, n: int, prefix: str = "s", days_old: float = 0.1) -> list[Item]:
    """`n` entries whose pages the site serves, newest first."""
    items = []
    for i in range(n):
        title = f"Story {prefix}{i}"
        link = site.page(f"/{prefix}{i}", title)
        items.append(Item(f"{prefix}-{i}", title, link, later(-days_old - i / 100), "Teaser."))
    return items


# --- formats and pages --------------------------------------------------------------------------

FORMATS: dict[str, tuple[Callable[[str, list[Item]], str], str]] = {
    "rss20": (rss, "application/rss+xml"),
    "rss10": (rss10, "application/rdf+xml"),
    "atom": (atom, "application/atom+xml"),
    "jsonfeed": (json_feed, "application/feed+json"),
}


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_each_new_entry_becomes_a_seed_with_its_page_text(
    site: Site, settings: Settings, kind: str
) -> None:
    make, content_type = FORMATS[kind]
    items = stories(site, 2)
    site.feed("/feed", make("Test Wire", items), content_type=content_type)
    add(settings, site.url("/feed"))
    report = fetch(settings)
    assert [r.new for r in report.results] == [2]
    seeds = {s["title"]: s for s in written(settings)}
    assert set(seeds) == {"Story s0", "Story s1"}
    seed = seeds["Story s0"]
    assert seed["source"] == "Test Wire" and seed["url"] == site.url("/s0")
    assert body_of("Story s0").split("\n\n")[0] in seed["text"]
    assert "Home" not in seed["text"] and "Copyright" not in seed["text"]
    assert (report.feed_requests, report.page_requests) == (1, 2)


def test_a_second_poll_is_conditional_and_costs_nothing_else(
    site: Site, settings: Settings
) -> None:
    site.feed("/feed", rss("Wire", stories(site, 3)))
    add(settings, site.url("/feed"))
    fetch(settings)
    report = fetch(settings, later(1 / 24))
    assert [r.line.split(": ", 1)[1] for r in report.results] == ["not modified"]
    assert (report.feed_requests, report.page_requests) == (1, 0)
    assert site.conditional("/feed") == 1
    assert len(written(settings)) == 3


def test_an_entry_listed_again_in_a_changed_feed_is_not_fetched_again(
    site: Site, settings: Settings
) -> None:
    items = stories(site, 2)
    site.feed("/feed", rss("Wire", items), etag="v1")
    add(settings, site.url("/feed"))
    fetch(settings)
    site.server.clear()
    extra = stories(site, 1, prefix="n")
    site.feed("/feed", rss("Wire", extra + items), etag="v2")
    report = fetch(settings, later(1))
    assert report.new == 1 and report.page_requests == 1
    assert site.hits("/s0") == site.hits("/s1") == 0


def test_a_feed_that_changes_every_id_does_not_bring_its_entries_again(
    site: Site, settings: Settings
) -> None:
    items = stories(site, 3)
    site.feed("/feed", rss("Wire", items), etag="v1")
    add(settings, site.url("/feed"))
    fetch(settings)
    renamed = [Item("new-" + it.key, it.title, it.link, it.published, it.summary) for it in items]
    site.server.clear()
    site.feed("/feed", rss("Wire", renamed), etag="v2")
    report = fetch(settings, later(1))
    assert report.new == 0 and report.page_requests == 0
    assert len(written(settings)) == 3


def test_the_same_article_from_two_feeds_is_one_seed_and_one_page_request(
    site: Site, settings: Settings
) -> None:
    items = stories(site, 2)
    tracked = [
        Item("b" + it.key, it.title, f"{it.link}?utm_source=b#top", it.published) for it in items
    ]
    site.feed("/a", rss("Feed A", items))
    site.feed("/b", atom("Feed B", tracked))
    add(settings, site.url("/a"), site.url("/b"))
    report = fetch(settings)
    assert [r.new for r in report.results] == [2, 0]
    assert site.hits("/s0") == site.hits("/s1") == 1
    assert len(written(settings)) == 2


@pytest.mark.parametrize(
    "page",
    ["404", "too-big", "stalls", "not-html", "empty-page"],
)
def test_when_the_page_cannot_be_had_the_feed_text_stands_in(
    site: Site, settings: Settings, page: str
) -> None:
    handlers: dict[str, Callable[[Request], Response]] = {
        "404": lambda r: Response("missing", status=404),
        "too-big": lambda r: Response("<p>" + "word " * 30_000 + "</p>", content_type="text/html"),
        "stalls": stall(3),
        "not-html": lambda r: Response(b"\x89PNG....", content_type="image/png"),
        "empty-page": lambda r: Response(
            "<html><body><nav>Home</nav></body></html>", content_type="text/html"
        ),
    }
    site.route("/article", handlers[page])
    summary = "The feed's own summary of the council budget vote, which passed on Tuesday."
    site.feed(
        "/feed", rss("Wire", [Item("1", "Budget passes", site.url("/article"), None, summary)])
    )
    add(settings, site.url("/feed"))
    small = Settings(**{**vars(settings), "fetch_max_bytes": 50_000, "fetch_timeout": 1.0})
    report = fetch(small)
    assert [r.problem for r in report.results] == [False], report.results  # no error shown
    (seed,) = written(settings)
    assert seed["title"] == "Budget passes" and seed["text"] == summary


@pytest.mark.parametrize("link", ["file:///etc/passwd", "ftp://127.0.0.1/x", "javascript:x()"])
def test_a_link_that_is_not_http_is_never_fetched(
    site: Site, settings: Settings, link: str
) -> None:
    site.feed("/feed", rss("Wire", [Item("1", "Odd link", link, None, "Only the teaser.")]))
    add(settings, site.url("/feed"))
    report = fetch(settings)
    assert report.page_requests == 0
    assert written(settings)[0]["text"] == "Only the teaser."


def test_a_feed_on_a_private_address_is_refused_with_the_setting_that_allows_it(
    site: Site, settings: Settings
) -> None:
    site.feed("/feed", rss("Wire", stories(site, 1)))
    add(settings, site.url("/feed"))
    strict = Settings(**{**vars(settings), "allow_private_addresses": False})
    (result,) = fetch(strict).results
    assert result.problem and "DIGEST_ALLOW_PRIVATE_ADDRESSES=true" in result.line
    # (by path: a stalled answer of an earlier test may still land in the shared server's log)
    assert site.hits("/feed") == 0 and site.hits("/s0") == 0
    assert row(settings).state == "failing"
    assert fetch(settings).new == 1  # allowed now: polled at once, not after the backoff


# --- the polling policy ---------------------------------------------------------------------


def moved_to(target: str, status: int) -> Callable[[Request], Response]:
    return lambda request: Response(status=status, headers={"Location": target})


@pytest.mark.parametrize("statuses", [(301,), (308,), (301, 308)])
def test_a_permanent_redirect_chain_moves_the_feed_for_good(
    site: Site, settings: Settings, statuses: tuple[int, ...]
) -> None:
    for i, status in enumerate(statuses):
        target = f"/hop{i + 1}" if i + 1 < len(statuses) else "/new"
        site.route(f"/hop{i}", moved_to(target, status))
    site.feed("/new", rss("Moved", stories(site, 1)))
    add(settings, site.url("/hop0"))
    (result,) = fetch(settings).results
    assert "moved for good" in result.line
    assert row(settings).url == site.url("/new")  # read back from the database: survives restart
    site.server.clear()
    site.feed("/new", rss("Moved", []))
    fetch(settings, later(1))
    assert site.hits("/new") == 1 and site.hits("/hop0") == 0
    assert site.conditional("/new") == 1


@pytest.mark.parametrize("status", [302, 307])
def test_a_temporary_redirect_keeps_the_url(site: Site, settings: Settings, status: int) -> None:
    site.route("/feed", lambda r: Response(status=status, headers={"Location": "/today"}))
    site.feed("/today", rss("Temp", stories(site, 1)))
    add(settings, site.url("/feed"))
    assert fetch(settings).new == 1
    assert row(settings).url == site.url("/feed")


def test_410_marks_a_feed_gone_and_it_is_never_polled_again(site: Site, settings: Settings) -> None:
    site.route("/feed", lambda r: Response("bye", status=410))
    add(settings, site.url("/feed"))
    (result,) = fetch(settings).results
    assert result.problem and "gone" in result.line and "digest feeds remove" in result.line
    assert row(settings).state == "gone"
    assert fetch(settings, later(30)).results == []
    assert site.hits("/feed") == 1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_sets_the_next_poll(site: Site, settings: Settings, status: int) -> None:
    site.route(
        "/feed", lambda r: Response("slow down", status=status, headers={"Retry-After": "3600"})
    )
    add(settings, site.url("/feed"))
    fetch(settings)
    assert row(settings).next_poll == later(1 / 24)
    assert fetch(settings, NOW + timedelta(minutes=59)).results == []
    assert len(fetch(settings, NOW + timedelta(minutes=61)).results) == 1


def test_max_age_sets_the_next_poll(site: Site, settings: Settings) -> None:
    site.route(
        "/feed",
        lambda r: Response(
            rss("Cached", []),
            content_type="application/rss+xml",
            headers={"Cache-Control": "max-age=1800"},
        ),
    )
    add(settings, site.url("/feed"))
    fetch(settings)
    assert row(settings).next_poll == NOW + timedelta(minutes=30)


def test_errors_back_off_doubling(site: Site, settings: Settings) -> None:
    site.route("/feed", lambda r: Response("oops", status=500))
    add(settings, site.url("/feed"))
    now, waits = NOW, []
    for _ in range(3):
        (result,) = fetch(settings, now).results
        assert result.problem and "HTTP 500" in result.line
        nxt = row(settings).next_poll
        assert nxt is not None
        waits.append(nxt - now)
        now = nxt
    assert waits == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20)]
    assert row(settings).state == "failing" and row(settings).last_error == "HTTP 500"


def test_when_every_feed_fails_at_once_no_feed_is_blamed(settings: Settings) -> None:
    from conftest import free_port

    dead = [f"http://127.0.0.1:{free_port()}/feed{i}" for i in range(2)]
    add(settings, *dead)
    report = fetch(settings)
    assert all("every feed failed" in r.line for r in report.results)
    assert [r.state for r in feedlist.list_feeds(settings)] == ["active", "active"]


def test_one_dead_feed_among_good_ones_is_failing(site: Site, settings: Settings) -> None:
    from conftest import free_port

    site.feed("/feed", rss("Wire", []))
    add(settings, site.url("/feed"), f"http://127.0.0.1:{free_port()}/feed")
    report = fetch(settings)
    assert [r.problem for r in report.results] == [False, True]
    assert [r.state for r in feedlist.list_feeds(settings)] == ["active", "failing"]


def test_a_new_feed_brings_only_its_recent_backlog(site: Site, settings: Settings) -> None:
    recent = stories(site, 25, prefix="r", days_old=1)
    old = stories(site, 5, prefix="o", days_old=10)
    site.feed("/feed", rss("Wire", recent + old))
    add(settings, site.url("/feed"))
    report = fetch(settings)
    assert report.new == 20 and report.page_requests == 20
    assert {s["title"] for s in written(settings)} == {f"Story r{i}" for i in range(20)}


def test_a_truncated_feed_keeps_its_complete_entries(site: Site, settings: Settings) -> None:
    whole = rss("Cut", stories(site, 3))
    cut = whole[: whole.index("<item>", whole.index("Story s2") - 40) + 30]
    site.feed("/feed", cut)
    add(settings, site.url("/feed"))
    (result,) = fetch(settings).results
    assert result.new == 2 and not result.problem and "malformed" in result.line


def test_a_gzipped_feed_with_a_wrong_charset_declaration_reads_right(
    site: Site, settings: Settings
) -> None:
    body = rss("Café Wire", [Item("1", "Naïve résumé", None, None, "Déjà vu — encore une fois.")])
    site.feed("/feed", body.replace('encoding="utf-8"', 'encoding="iso-8859-1"'), gzip_it=True)
    add(settings, site.url("/feed"))
    fetch(settings)
    (seed,) = written(settings)
    assert (seed["source"], seed["title"], seed["text"]) == (
        "Café Wire",
        "Naïve résumé",
        "Déjà vu — encore une fois.",
    )


def test_a_seed_written_before_a_crash_is_recorded_without_fetching_again(
    site: Site, settings: Settings
) -> None:
    site.feed("/feed", rss("Wire", stories(site, 1)))
    add(settings, site.url("/feed"))
    fetch(settings)
    (path,) = (settings.seeds_dir / "feeds").rglob("*.json")
    state = settings.state_dir / "state.sqlite3"
    state.unlink()  # as if the process died after the seed, before the state
    for extra in ("-wal", "-shm"):
        Path(f"{state}{extra}").unlink(missing_ok=True)
    add(settings, site.url("/feed"))
    site.server.clear()
    site.feed("/feed", rss("Wire", stories(site, 1)), etag=None)
    assert fetch(settings).new == 1  # the same file, not a second one
    assert site.hits("/s0") == 0
    assert list((settings.seeds_dir / "feeds").rglob("*.json")) == [path]


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://Example.ORG:80/a?utm_source=x&id=3#frag", "http://example.org/a?id=3"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
    ],
)
def test_canonical_urls(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_a_feed_over_the_byte_limit_keeps_the_entries_before_the_cut(
    site: Site, settings: Settings
) -> None:
    items = [Item(str(i), f"Entry {i}", None, None, "Some words. " * 20) for i in range(40)]
    site.feed("/feed", rss("Long", items))
    add(settings, site.url("/feed"))
    small = Settings(**{**vars(settings), "fetch_max_bytes": 5_000, "feed_backlog_entries": 100})
    (result,) = fetch(small).results
    assert 0 < result.new < 40 and "DIGEST_FETCH_MAX_BYTES=5000" in result.line
    assert not result.problem


def test_seeds_written_now_are_read_now_and_other_fresh_files_wait(
    site: Site, settings: Settings
) -> None:
    from digest.intake.files import list_files

    site.feed("/feed", rss("Wire", stories(site, 1)))
    add(settings, site.url("/feed"))
    fetch(settings)
    (settings.seeds_dir / "fresh.txt").write_text("Still being written", encoding="utf-8")
    found, _ = list_files(settings.seeds_dir, now=time.time(), settle_seconds=60)
    assert [Path(path).parent.parent.name for path, *_ in found] == ["feeds"]
