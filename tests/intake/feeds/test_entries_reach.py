"""Every entry a feed lists reaches the seeds: in its section, and as a headline when it has
no text to be had (a real HTTP server on 127.0.0.1, real SQLite, the real JSON loader)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from feedsite import NOW, Site, later, page_html, serve, stall
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from digest.intake.feeds import catalog as feedlist
from digest.intake.feeds.poll import FetchReport, fetch_due
from digest.intake.files import file_info, read_article
from digest.settings import Settings
from digest.store import Store


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
        fetch_timeout=1.0,
        allow_private_addresses=True,
    )


def fetch(settings: Settings, days: float = 0) -> FetchReport:
    with Store.open(settings.state_dir) as store:
        return fetch_due(settings, store, now=later(days))


def seeds(settings: Settings) -> dict[str, dict[str, str]]:
    paths = (settings.seeds_dir / "feeds").rglob("*.json")
    found = [json.loads(p.read_text("utf-8")) for p in paths if not p.name.startswith(".")]
    return {seed["title"]: seed for seed in found}


TEXT = "The club won the cup final after extra time, and the fans filled the square at night."

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Riverside Post</title>
<item><title>Cup won</title><link>{u}/a</link><guid>a</guid>
 <category>Sport</category><category>Football</category><description>{t}</description></item>
<item><title>Shares fall</title><link>{u}/b</link><guid>b</guid>
 <category> Business </category><description>{t}</description></item>
<item><title>Untagged</title><link>{u}/c</link><guid>c</guid><description>{t}</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Riverside Post</title><id>urn:f</id><updated>2026-12-01T07:00:00Z</updated>
<entry><title>Cup won</title><link href="{u}/a"/><id>a</id>
 <updated>2026-12-01T07:00:00Z</updated>
 <category term="sport" label="Sport"/><summary>{t}</summary></entry>
<entry><title>Shares fall</title><link href="{u}/b"/><id>b</id>
 <updated>2026-12-01T07:00:00Z</updated>
 <category term="Business"/><summary>{t}</summary></entry>
<entry><title>Untagged</title><link href="{u}/c"/><id>c</id>
 <updated>2026-12-01T07:00:00Z</updated><summary>{t}</summary></entry></feed>"""

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Riverside Post",
        "items": [
            {
                "id": "a",
                "url": "{u}/a",
                "title": "Cup won",
                "tags": ["Sport", "x"],
                "content_text": "{t}",
            },
            {
                "id": "b",
                "url": "{u}/b",
                "title": "Shares fall",
                "tags": ["", "Business"],
                "content_text": "{t}",
            },
            {"id": "c", "url": "{u}/c", "title": "Untagged", "content_text": "{t}"},
        ],
    }
)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(RSS, "application/rss+xml"), (ATOM, "application/atom+xml"), (JSON_FEED, "application/json")],
    ids=["rss-category", "atom-category-label-or-term", "jsonfeed-tags"],
)
def test_the_feeds_own_section_reaches_the_seed_and_the_article(
    site: Site, settings: Settings, body: str, content_type: str
) -> None:
    for path in ("/a", "/b", "/c"):
        site.route(path, lambda r: Response("gone", status=404))  # the feed's text stands in
    site.feed(
        "/feed",
        body.replace("{u}", site.url("").rstrip("/")).replace("{t}", TEXT),
        content_type=content_type,
    )
    feedlist.add_feeds(settings, [site.url("/feed")], now=NOW)
    fetch(settings)
    found = seeds(settings)
    assert {title: seed.get("section") for title, seed in found.items()} == {
        "Cup won": "Sport",
        "Shares fall": "Business",  # trimmed, spelled as the feed spells it
        "Untagged": None,
    }
    (cup,) = [p for p in (settings.seeds_dir / "feeds").rglob("*.json") if "Cup" in p.read_text()]
    assert read_article(file_info(cup), max_bytes=10**6).section == "Sport"


def answer_with(html: str) -> Callable[[Request], Response]:
    return lambda request: Response(html, content_type="text/html")


def with_meta(title: str, head: str) -> str:
    html = page_html(title, TEXT + "\n\n" + TEXT.replace("cup", "league"))
    return html.replace("<head>", "<head>" + head)


LD = (
    '<script type="application/ld+json">{"@graph": [{"@type": "WebPage"},'
    ' {"@type": "NewsArticle", "articleSection": ["Local", "Politics"]}]}</script>'
)


def test_the_pages_section_fills_in_when_the_feed_gives_none(
    site: Site, settings: Settings
) -> None:
    pages = {
        "/og": with_meta("Og", '<meta property="article:section" content=" Weather ">'),
        "/ld": with_meta("Ld", LD),
        "/both": with_meta("Both", '<meta property="article:section" content="Science">'),
    }
    for path, html in pages.items():
        site.route(path, answer_with(html))
    u = site.url("").rstrip("/")
    site.feed(
        "/feed",
        f"""<rss version="2.0"><channel><title>Wire</title>
<item><title>Og</title><link>{u}/og</link><description>x</description></item>
<item><title>Ld</title><link>{u}/ld</link><description>x</description></item>
<item><title>Both</title><link>{u}/both</link><category>Health</category><description>x</description></item>
</channel></rss>""",
    )
    feedlist.add_feeds(settings, [site.url("/feed")], now=NOW)
    fetch(settings)
    found = seeds(settings)
    assert {t: s.get("section") for t, s in found.items()} == {
        "Og": "Weather",  # article:section
        "Ld": "Local",  # JSON-LD articleSection (a list: its first)
        "Both": "Health",  # the feed's own comes first
    }
    assert "fans filled the square" in found["Og"]["text"]  # the page's text, not the feed's "x"


HN = """<rss version="2.0"><channel><title>Hacker News</title>
<item><title>Show HN: A tiny database</title><link>{u}/walled</link><category>Tech</category>
 <description><![CDATA[<a href="{u}/item?id=1">Comments</a>]]></description></item>
<item><title>Why paywalls fail</title><link>{u}/slow</link>
 <description><![CDATA[<a href="{u}/item?id=2">Comments</a>]]></description></item>
<item><title>Links to PDFs</title><link>{u}/pdf</link>
 <description>A link that is no web page.</description></item>
<item><title>Local files</title><link>{u}/gone</link>
 <description>A local file is no web page.</description></item>
<item><title>The title said twice</title><link>{u}/gone2</link>
 <description>The title, said twice!</description></item>
</channel></rss>"""


def test_an_entry_with_no_text_to_be_had_goes_out_as_a_headline_once(
    site: Site, settings: Settings
) -> None:
    site.route("/walled", lambda r: Response("Forbidden", status=403))
    slow_calls: list[str] = []  # counted on arrival: the server logs a request when answered

    def slow(request: Request) -> Response:
        slow_calls.append(request.path)
        return stall(3)(request)  # longer than DIGEST_FETCH_TIMEOUT=1s

    site.route("/slow", slow)
    site.route("/pdf", lambda r: Response(b"%PDF-1.4", content_type="application/pdf"))
    site.route("/gone", lambda r: Response("no", status=404))
    site.route("/gone2", lambda r: Response("no", status=404))
    site.feed("/feed", HN.replace("{u}", site.url("").rstrip("/")), etag=None)
    feedlist.add_feeds(settings, [site.url("/feed")], now=NOW)
    report = fetch(settings)
    assert [r.new for r in report.results] == [5] and not report.problems
    found = seeds(settings)
    walled = found["Show HN: A tiny database"]
    assert walled == {
        "title": "Show HN: A tiny database",
        "section": "Tech",
        "source": "Hacker News",
        "url": site.url("/walled"),
        "kind": "headline",
    }
    assert found["Why paywalls fail"]["kind"] == "headline"
    assert found["Links to PDFs"]["text"] == "A link that is no web page."
    assert found["Local files"]["text"] == "A local file is no web page."
    assert found["The title said twice"]["kind"] == "headline"
    paths = [p for p in (settings.seeds_dir / "feeds").rglob("*.json")]
    articles = {a.title: a for a in (read_article(file_info(p), max_bytes=10**6) for p in paths)}
    headline = articles["Show HN: A tiny database"]
    assert headline.paragraphs == () and headline.url == site.url("/walled")
    assert headline.section == "Tech" and headline.source == "Hacker News"
    assert headline.id != articles["Why paywalls fail"].id
    fetch(settings, days=1)  # the feed again: nothing fetched or written again
    pages = ("/walled", "/pdf", "/gone", "/gone2")
    assert [site.hits(p) for p in pages] == [1, 1, 1, 1] and slow_calls == ["/slow"]
    assert len(list((settings.seeds_dir / "feeds").rglob("*.json"))) == 5


def test_a_headline_file_needs_its_marker_and_a_title(tmp_path: Path) -> None:
    cases = {
        "marked.json": ({"title": "Only a title", "kind": "headline"}, None),
        "unmarked.json": ({"title": "Only a title"}, 'has no "text" field'),
        "untitled.json": ({"kind": "headline", "url": "https://x.example/"}, "empty"),
    }
    from digest.errors import SourceError

    for name, (seed, error) in cases.items():
        path = tmp_path / name
        path.write_text(json.dumps(seed), encoding="utf-8")
        if error is None:
            assert read_article(file_info(path), max_bytes=10**6).title == "Only a title"
            continue
        with pytest.raises(SourceError, match=error):
            read_article(file_info(path), max_bytes=10**6)
