"""End to end through the real CLI: fetched news reaches each reader in its section, headlines
included, and what the budget left is never sent twice (a local news site, SMTP with TLS+AUTH)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import Received, SmtpServer, run_cli
from feedsite import Site, page_html, serve
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

pytestmark = pytest.mark.slow  # the CLI in child processes

FETCH = {
    "DIGEST_ALLOW_PRIVATE_ADDRESSES": "true",
    "DIGEST_FETCH_DELAY": "0",
    "DIGEST_FEED_INTERVAL": "0",
    "DIGEST_FETCH_TIMEOUT": "1",
    "DIGEST_SETTLE_SECONDS": "0",
    "DIGEST_WORKERS": "1",
    "DIGEST_PUBLIC_URL": "https://news.example.org",
    "DIGEST_FROM": "news@example.org",
}


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    yield from serve()


# title -> (section, page answer: "page", "403" or "404", feed description)
ENTRIES = {
    "Harbour club wins the cup final": ("Sport", "page", "Teaser."),
    "Marathon record falls in the rain": ("Sport", "page", "Teaser."),
    "Show HN: a database in one file": ("Sport", "403", "<a href='{u}/c/1'>Comments</a>"),
    "Bank shares slide after the report": ("Business", "page", "Teaser."),
    "Bakery chain opens ten new shops": ("Business", "page", "Teaser."),
    "Links to PDFs": ("Local", "404", "A link that is no web page."),
    "Local files": ("Local", "404", "A local file is no web page."),
}


TEXTS = {
    "Harbour club wins the cup final": (
        "The harbour club beat the league leaders two goals to one in extra time on Saturday."
        " Thousands of fans filled the old stadium and sang until the final whistle.\n\n"
        "The captain lifted the trophy for the first time since the club was founded."
    ),
    "Marathon record falls in the rain": (
        "A runner from the valley broke the city marathon record despite cold rain and wind."
        " She finished almost a minute ahead of the time set twelve years ago.\n\n"
        "Organisers said a record field of eleven thousand people started the race."
    ),
    "Bank shares slide after the report": (
        "Shares in the regional bank fell by a fifth after it reported losses on property loans."
        " Analysts had expected a small profit for the quarter.\n\n"
        "The chief executive said savings were safe and the dividend would be paid."
    ),
    "Bakery chain opens ten new shops": (
        "The family bakery chain will open ten shops across the county before the spring."
        " Each shop hires about a dozen people, most of them from the neighbourhood.\n\n"
        "Flour prices have dropped this year, which the owners say made the plan possible."
    ),
}


def item(n: int, title: str, section: str, description: str, base: str) -> str:
    text = description.replace("{u}", base).replace("<", "&lt;").replace(">", "&gt;")
    return (
        f"<item><title>{title}</title><link>{base}/story{n}</link><guid>s{n}</guid>"
        f"<category>{section}</category><description>{text}</description></item>"
    )


def refuse(status: int) -> Callable[[Request], Response]:
    return lambda request: Response("no", status=status)


def news_site(site: Site) -> None:
    base = site.url("").rstrip("/")
    items = []
    for n, (title, (section, answer, description)) in enumerate(ENTRIES.items()):
        if answer == "page":
            site.page(f"/story{n}", title, TEXTS[title])
        else:
            site.route(f"/story{n}", refuse(int(answer)))
        items.append(item(n, title, section, description, base))
    feed = (
        f'<rss version="2.0"><channel><title>Harbour Times</title>{"".join(items)}</channel></rss>'
    )
    site.feed("/feed.xml", feed)


def plain(message: Received) -> str:
    msg = message_from_bytes(message.content, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return " ".join(part.get_content().split())


def by_reader(messages: list[Received]) -> dict[str, str]:
    return {m.rcpt_tos[0]: plain(m) for m in messages}


def test_readers_get_their_sections_and_headlines_of_fetched_news(
    httpserver: HTTPServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    site = Site(httpserver)
    (tmp_path / "seeds").mkdir()
    news_site(site)
    env = smtp_server.env(**FETCH)
    added = run_cli("feeds", "add", site.url("/feed.xml"), env=env)
    assert added.code == 0 and "Harbour Times — 7 entries" in added.out, added
    for email, *options in [
        ("sporty@example.org", "--sections", "Sport"),
        ("hacker@example.org", "--include", "database"),
        ("all@example.org",),
    ]:
        assert run_cli("subscribers", "add", email, *options, env=env).code == 0
    first = run_cli("run", env=env)
    assert first.code == 0, first.err
    got = by_reader(smtp_server.messages)
    sport = [t for t, (s, _, _) in ENTRIES.items() if s == "Sport"]
    business = [t for t, (s, _, _) in ENTRIES.items() if s == "Business"]
    assert all(t in got["sporty@example.org"] for t in sport), got["sporty@example.org"]
    assert not any(t in got["sporty@example.org"] for t in business)
    # the headline: its title and its link, found by a reader's word in the title alone
    assert site.url("/story2") in got["sporty@example.org"]
    hacker = got["hacker@example.org"]
    assert "Show HN: a database in one file" in hacker and site.url("/story2") in hacker
    assert not any(t in hacker for t in sport[:2] + business)
    everything = got["all@example.org"]
    assert all(t in everything for t in ENTRIES), everything
    assert "Comments" not in everything  # a link-only description is no text
    headline = everything.split("Show HN: a database in one file", 1)[1][:120]
    assert "min read" not in headline.split("http")[0]  # no reading time for a headline
    again = run_cli("run", env=env)
    assert again.code == 0 and "nothing new" in again.out, again
    assert site.hits("/story2") == 1


def test_short_teasers_of_different_entries_stay_two_stories(
    httpserver: HTTPServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """Depends on the stories stage (h19-stories): two short teasers sharing words."""
    site = Site(httpserver)
    (tmp_path / "seeds").mkdir()
    news_site(site)
    env = smtp_server.env(**FETCH, DIGEST_TO="reader@example.org")
    assert run_cli("feeds", "add", site.url("/feed.xml"), env=env).code == 0
    assert run_cli("run", env=env).code == 0
    (message,) = smtp_server.messages
    text = plain(message)
    assert "Links to PDFs" in text and "Local files" in text
    assert "Also reported by" not in text, text


FERRY = {
    "Night ferry returns to the island": (
        "The night crossing to the island resumes on Friday after a winter without service."
    ),
    "Orchestra plays in the old cannery": (
        "The city orchestra gives three summer concerts among the rusting machines of the cannery."
    ),
    "School lunches go vegetarian twice a week": (
        "Pupils in every primary school will get meat-free lunches on Tuesdays and Thursdays."
    ),
    "Airport adds a direct route to Lisbon": (
        "Two flights a week to Lisbon start in April, the first direct link to Portugal."
    ),
}
PAGE_ONLY = [
    "Tickets cost the same as before, and cabins can be booked from next week.",
    "The conductor chose works by local composers for the opening evening.",
    "Parents were asked in a survey last year and most of them agreed.",
    "The airline expects mostly holiday travellers in the first season.",
]


def test_what_went_out_with_the_feeds_text_is_not_sent_again_when_its_page_comes(
    httpserver: HTTPServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    site = Site(httpserver)
    (tmp_path / "seeds").mkdir()
    arrived: list[str] = []
    items = []
    for n, (title, summary) in enumerate(FERRY.items()):
        html = page_html(title, summary + "\n\n" + PAGE_ONLY[n])

        def slow(request: Request, html: str = html) -> Response:
            arrived.append(request.path)
            time.sleep(0.6)
            return Response(html, content_type="text/html")

        site.route(f"/ferry{n}", slow)
        items.append(
            f"<item><title>{title}</title><link>{site.url(f'/ferry{n}')}</link><guid>f{n}</guid>"
            f"<description>{summary}</description></item>"
        )
    site.feed(
        "/feed.xml",
        f'<rss version="2.0"><channel><title>Port</title>{"".join(items)}</channel></rss>',
    )
    env = smtp_server.env(**FETCH, DIGEST_TO="reader@example.org", DIGEST_FETCH_BUDGET="1")
    assert run_cli("feeds", "add", site.url("/feed.xml"), env=env).code == 0
    first = run_cli("run", env=env)
    assert first.code == 0, first.err
    assert "not fetched within DIGEST_FETCH_BUDGET" in first.err, first.err
    (message,) = smtp_server.messages
    text = plain(message)
    assert all(title in text for title in FERRY), text  # every entry, some with the feed's text
    left = 4 - len(arrived)
    assert left >= 1, arrived
    second = run_cli("run", env=env)
    assert second.code == 0 and "nothing new" in second.out, second
    assert len(smtp_server.messages) == 1  # nothing sent again
    assert len(arrived) == 4 - left  # and the pages that went out with the feed's text not fetched
