"""End to end: the real `digest run` polls a local news site and mails over STARTTLS+AUTH."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from conftest import SmtpServer, run_cli
from feedsite import Item, Site, body_of, rss, serve
from pytest_httpserver import HTTPServer
from werkzeug import Response

FETCH = {
    "DIGEST_ALLOW_PRIVATE_ADDRESSES": "true",
    "DIGEST_FETCH_DELAY": "0",
    "DIGEST_FEED_INTERVAL": "0",
    "DIGEST_TO": "reader@example.org",
}


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    yield from serve()


PAGES = {
    "Council passes budget": (
        "The city council approved next year's budget on Tuesday night after a six-hour debate."
        " Spending on parks rises by a tenth, and two new bus lines are funded.\n\n"
        "Opposition members said property taxes would climb for most homeowners."
        " The mayor promised an independent review of the spending plan in the spring.\n\n"
        "Residents may comment on the final document at City Hall until the end of January."
    ),
    "Storm closes harbour": (
        "Gale-force winds shut the harbour on Wednesday, stranding three ferries at sea anchor."
        " Coast guard crews evacuated two fishing boats near the northern breakwater.\n\n"
        "Forecasters expect gusts above ninety kilometres an hour until Thursday morning."
        " Schools along the seafront sent pupils home before lunch as a precaution.\n\n"
        "Port officials hope to reopen the shipping lanes once the swell drops below four metres."
    ),
}


def newsroom(site: Site) -> list[str]:
    """Two feeds; one page is missing (the feed's text stands in); one feed is broken."""
    titles = ["Council passes budget", "Storm closes harbour", "Library opens late"]
    items = []
    for i, title in enumerate(titles):
        link = site.url(f"/story{i}")
        if i < 2:
            site.page(f"/story{i}", title, PAGES[title])
        else:
            site.route(f"/story{i}", lambda r: Response("gone", status=404))
        summary = "The library will open until ten at night from Monday, the city said today."
        items.append(Item(f"id-{i}", title, link, None, summary if i == 2 else "Teaser."))
    site.feed("/city.xml", rss("City Wire", items))
    answers = iter([Response(rss("Soon Broken", []), content_type="application/rss+xml")])
    site.route("/broken.xml", lambda r: next(answers, Response("oops", status=500)))
    added = run_cli("feeds", "add", site.url("/city.xml"), site.url("/broken.xml"), env=FETCH)
    assert added.code == 0, added.err  # a feed when added; broken from then on
    return titles


def text_of(raw: bytes) -> str:
    msg = message_from_bytes(raw, policy=policy.default)
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return " ".join(part.get_content().split())


@pytest.mark.slow
def test_two_runs_mail_every_good_entry_once_with_its_page_text(
    httpserver: HTTPServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    site = Site(httpserver)
    (tmp_path / "seeds").mkdir()
    titles = newsroom(site)
    first = run_cli("run", env=smtp_server.env(**FETCH))
    assert first.code == 0, first.err
    assert f"feed {site.url('/broken.xml')}: HTTP 500" in first.err  # one line, and still sent
    (message,) = smtp_server.messages
    text = text_of(message.content)
    for title in titles:
        assert title in text
    assert (
        "six-hour debate" in text or "ninety kilometres" in text
    )  # the pages' text  # sentences from the pages, not the feed's teasers
    assert "until ten at night" in text  # the missing page's entry: the feed's own text
    second = run_cli("run", env=smtp_server.env(**FETCH))
    assert second.code == 0, second.err
    assert "nothing new" in second.out and len(smtp_server.messages) == 1
    assert [site.hits(f"/story{i}") for i in range(3)] == [1, 1, 1]
    # fetched by `feeds add`, by the first run, and conditionally by the second
    assert site.hits("/city.xml") == 3 and site.conditional("/city.xml") == 1
    assert not run_cli("run", "--no-fetch", env=smtp_server.env(**FETCH)).err
    assert site.hits("/city.xml") == 3


@pytest.mark.slow
def test_a_crash_between_fetching_and_sending_loses_nothing_and_doubles_nothing(
    httpserver: HTTPServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    site = Site(httpserver)
    (tmp_path / "seeds").mkdir()
    titles = newsroom(site)
    with socket.create_server(("127.0.0.1", 0)) as mute:  # accepts, never greets: SMTP hangs
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
        env.update(smtp_server.env(**FETCH), DIGEST_SMTP_PORT=str(mute.getsockname()[1]))
        child = subprocess.Popen([sys.executable, "-m", "digest", "run"], env=env, cwd=tmp_path)
        accepted: list[socket.socket] = []
        reached = threading.Event()

        def wait_for_client() -> None:
            accepted.append(mute.accept()[0])
            reached.set()

        threading.Thread(target=wait_for_client, daemon=True).start()
        assert reached.wait(60), "the run never reached the SMTP server"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        accepted[0].close()
    assert [site.hits(f"/story{i}") for i in range(3)] == [1, 1, 1]  # fetched before the kill
    again = run_cli("run", env=smtp_server.env(**FETCH))
    assert again.code == 0, again.err
    (message,) = smtp_server.messages
    text = text_of(message.content)
    assert all(text.count(title) == 1 for title in titles)
    assert [site.hits(f"/story{i}") for i in range(3)] == [1, 1, 1]  # nothing fetched twice
    assert run_cli("run", env=smtp_server.env(**FETCH)).out.strip() == "nothing new to send"
    assert len(smtp_server.messages) == 1


NO_IMPORT = """
import sys
from digest.cli.main import main
try:
    main(["run", "--no-fetch"] if "--no-fetch" in sys.argv else ["run"])
except SystemExit as exit:
    assert exit.code == 0, exit.code
# sumy itself imports requests (sumy.utils) when it summarizes: only the nothing-new run,
# which summarizes nothing, shows what the feed code costs a run.
wanted = ("feedparser", "trafilatura", "digest.intake.fetch", "digest.intake.feeds.parse")
wanted += () if "sumy" in sys.modules else ("requests", "urllib3")
print("loaded:", sorted(m for m in wanted if m in sys.modules))
"""


@pytest.mark.slow
def test_a_run_with_no_feeds_loads_no_http_or_feed_library(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "a.txt").write_text("Headline\n\n" + body_of("A"), encoding="utf-8")
    past = time.time() - 3600
    os.utime(tmp_path / "seeds" / "a.txt", (past, past))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    for _ in range(2):  # the run that sends, and the nothing-new run
        proc = subprocess.run(
            [sys.executable, "-c", NO_IMPORT],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().endswith("loaded: []"), proc.stdout
