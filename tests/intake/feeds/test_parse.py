"""digest.intake.feeds.parse: one input file and its .expected.json per case; bombs; OPML."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import pytest
from helpers import FIXTURES
from hypothesis import given
from hypothesis import strategies as st

from digest.errors import FeedError
from digest.intake.feeds.pages import html_text
from digest.intake.feeds.parse import Subscription, parse_feed, read_opml, write_opml

CASES = FIXTURES / "feeds"
FEED_URL = "https://feeds.example.org/feed"


def _cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if not p.name.endswith(".expected.json"))


@pytest.mark.parametrize("path", _cases(), ids=lambda p: p.name)
def test_feed_case(path: Path) -> None:
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text("utf-8"))
    feed = parse_feed(path.read_bytes(), url=FEED_URL)
    assert feed.title == expected["title"]
    assert (feed.problem is not None) == expected.get("problem", False)
    got = [
        {
            "key": e.key,
            "title": e.title,
            "link": e.link,
            "published": e.published.isoformat() if e.published else None,
            "text": html_text(e.html),
        }
        for e in feed.entries
    ]
    for entry, want in zip(got, expected["entries"], strict=True):
        if want["key"].startswith("sha256:"):
            key = str(entry["key"])
            assert key.startswith("sha256:") and len(key) > 20
            entry["key"] = want["key"]
        assert entry == want


def test_feed_html_is_sanitised_before_we_see_it() -> None:
    feed = parse_feed((CASES / "atom.xml").read_bytes(), url=FEED_URL)
    assert "onclick" not in feed.entries[0].html
    rss = parse_feed((CASES / "rss20.xml").read_bytes(), url=FEED_URL)
    assert "script" not in rss.entries[0].html and "alert" not in rss.entries[0].html


def test_an_entry_without_a_stable_key_gets_the_same_hash_every_time() -> None:
    data = (CASES / "rss20.xml").read_bytes()
    first, again = parse_feed(data, url=FEED_URL), parse_feed(data, url=FEED_URL)
    assert first.entries[2].key == again.entries[2].key


LAUGHS = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
BOMB = (
    '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">' + LAUGHS + "]>"
    '<rss version="2.0"><channel><title>&lol9;</title><item><title>Bomb &lol9;</title>'
    "<link>https://bomb.example.org/1</link><description>&lol9;</description></item>"
    "</channel></rss>"
).encode()


def test_an_entity_expansion_bomb_is_harmless() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    feed = parse_feed(BOMB, url=FEED_URL)
    assert time.monotonic() - started < 2
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 50_000  # a billion laughs expanded would be ~3 GB
    for entry in feed.entries:
        assert len(entry.html) + len(entry.title or "") < 1000
    assert len(feed.title or "") < 1000


def test_an_external_entity_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET", encoding="utf-8")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<rss version="2.0"><channel><title>X</title><item><title>t</title>'
        "<link>https://x.example.org/1</link><description>&x;</description></item></channel></rss>"
    ).encode()
    feed = parse_feed(data, url=FEED_URL)
    assert all("TOP SECRET" not in e.html for e in feed.entries)


@pytest.mark.parametrize(
    "data",
    [b"", b"<html><body>Not a feed</body></html>", b"{}", b'{"version": "1"}', b"\xff\xfe\x00"],
)
def test_something_that_is_no_feed_is_one_error(data: bytes) -> None:
    with pytest.raises(FeedError, match="not a"):
        parse_feed(data, url=FEED_URL)


@given(st.binary(max_size=300))
def test_no_bytes_make_the_parser_crash(data: bytes) -> None:
    try:
        parse_feed(data, url=FEED_URL)
    except FeedError:
        pass


OPML = b"""<?xml version="1.0"?>
<opml version="1.0"><head><title>My feeds</title></head><body>
  <outline text="News">
    <outline text="Post" title="Riverside Post" type="rss" xmlUrl="https://news.example.org/rss"/>
    <outline text="Deeper"><outline text="Atom" xmlUrl="https://atom.example.org/feed"/></outline>
  </outline>
  <outline text="A folder without feeds"/>
  <outline text="Top" xmlUrl="https://top.example.org/feed.json"/>
  <outline text="Again" xmlUrl="https://news.example.org/rss"/>
</body></opml>"""


def test_opml_import_finds_nested_outlines_once_each() -> None:
    assert read_opml(OPML) == [
        Subscription("https://news.example.org/rss", "Riverside Post"),
        Subscription("https://atom.example.org/feed", "Atom"),
        Subscription("https://top.example.org/feed.json", "Top"),
    ]


def test_opml_export_reads_back_the_same_feeds() -> None:
    feeds = [
        Subscription("https://a.example.org/?a=1&b=2", 'Quotes " & <tags>'),
        Subscription("https://b.example.org/feed", None),
    ]
    assert read_opml(write_opml(feeds).encode()) == [
        feeds[0],
        Subscription("https://b.example.org/feed", "https://b.example.org/feed"),
    ]


@pytest.mark.parametrize(
    "data", [b"<opml><body><outline", b'<!DOCTYPE x [<!ENTITY a "b">]><opml/>']
)
def test_bad_or_entity_declaring_opml_is_refused(data: bytes) -> None:
    with pytest.raises(FeedError):
        read_opml(data)
