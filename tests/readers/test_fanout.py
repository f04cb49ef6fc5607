"""Subscribers end to end: the real CLI, real SQLite and a real SMTP server (STARTTLS + AUTH)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from conftest import Handler, Received, SeedWriter, SmtpServer, free_port, run_cli

from digest.readers import tokens
from digest.store import Store

pytestmark = pytest.mark.slow  # every test runs the CLI in child processes (~1-2 s each)

PUBLIC = "https://news.example.org"
ARTICLES = {
    "council": (
        "Council passes the city budget",
        "Local",
        "The city council approved the budget for next year after a long debate on Tuesday."
        " Parks and libraries receive more money while road repairs wait."
        " Critics warned that property taxes will rise. The mayor promised a review.",
    ),
    "rocket": (
        "Rocket launch delayed by weather",
        "Science",
        "Engineers held the countdown when strong winds reached the coast at dawn."
        " The satellite aboard will map sea ice for a decade."
        " A new attempt is planned for Friday if clouds clear over the pad.",
    ),
    "vote": (
        "Election results are in",
        "World",
        "Voters chose a new parliament in a close race that lasted until midnight."
        " Turnout was the highest in twenty years across the northern provinces."
        " Coalition talks begin next week between the three largest parties.",
    ),
    "cup": (
        "Football cup final tonight",
        "Sport",
        "Two clubs meet in the football final at the national stadium this evening."
        " Tickets sold out within minutes and fans gathered in the squares."
        " The coach of the visitors said his injured striker might still play.",
    ),
}


def write_article(seeds: SeedWriter, key: str, title: str, section: str, body: str) -> None:
    seeds(f"{key}.json", json.dumps({"title": title, "text": body, "section": section}))


def env(server: SmtpServer, **extra: str) -> dict[str, str]:
    return server.env(
        DIGEST_PUBLIC_URL=PUBLIC,
        DIGEST_SETTLE_SECONDS="0",
        DIGEST_WORKERS="1",
        DIGEST_FROM="news@example.org",
        **extra,
    )


def subscribe(server: SmtpServer, email: str, *options: str) -> None:
    result = run_cli("subscribers", "add", email, *options, env=env(server))
    assert result.code == 0, result.err


def parse(data: bytes) -> EmailMessage:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def titles_by_reader(messages: Sequence[Received]) -> dict[str, list[set[str]]]:
    """reader -> the set of article keys in each message they got, in order."""
    got: dict[str, list[set[str]]] = {}
    for m in messages:
        msg = parse(m.content)
        (reader,) = m.rcpt_tos
        assert msg["To"] == reader
        text = " ".join(msg.get_body(("plain",)).get_content().split())  # type: ignore[union-attr]
        got.setdefault(reader, []).append({k for k, (t, _, _) in ARTICLES.items() if t in text})
    return got


def test_each_reader_gets_exactly_their_articles_once(
    tmp_path: Path, seeds: SeedWriter, smtp_server: SmtpServer
) -> None:
    for key, (title, section, body) in ARTICLES.items():
        write_article(seeds, key, title, section, body)
    subscribe(smtp_server, "ann@example.org")
    subscribe(smtp_server, "bob@example.org", "--sections", "science,WORLD")
    subscribe(smtp_server, "cat@example.org", "--include", "budget")
    subscribe(smtp_server, "dan@example.org", "--exclude", "football")
    subscribe(smtp_server, "eve@example.org")
    subscribe(smtp_server, "fay@example.org", "--sections", "Local", "--include", "rocket")
    assert run_cli("subscribers", "pause", "eve@example.org", env=env(smtp_server)).code == 0

    first = run_cli("run", env=env(smtp_server))
    assert first.code == 0, first.err
    assert titles_by_reader(smtp_server.messages) == {
        "ann@example.org": [{"council", "rocket", "vote", "cup"}],
        "bob@example.org": [{"rocket", "vote"}],
        "cat@example.org": [{"council"}],
        "dan@example.org": [{"council", "rocket", "vote"}],
    }
    again = run_cli("run", env=env(smtp_server))
    assert again.code == 0 and "nothing new" in again.out
    assert len(smtp_server.messages) == 4


def test_links_carry_the_readers_own_signed_tokens(
    tmp_path: Path, seeds: SeedWriter, smtp_server: SmtpServer
) -> None:
    write_article(seeds, "vote", *ARTICLES["vote"])
    subscribe(smtp_server, "ann@example.org")
    subscribe(smtp_server, "bob@example.org")
    assert run_cli("run", env=env(smtp_server)).code == 0
    secret = (tmp_path / ".digest" / "secret_key").read_text().strip()
    store = Store.open(tmp_path / ".digest")
    ids = {s.email: (s.id, s.key) for s in store.subscribers()}
    store.close()
    for m in smtp_server.messages:
        msg = parse(m.content)
        reader = m.rcpt_tos[0]
        header = msg["List-Unsubscribe"]
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        found = re.match(rf"<{PUBLIC}/unsubscribe/([^>]+)>, <mailto:news@example.org", header)
        assert found, header
        assert tokens.read(secret, "unsubscribe", found[1]) == ids[reader]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert f'href="{PUBLIC}/unsubscribe/{found[1]}"' in html
        prefs = re.search(rf'href="{PUBLIC}/preferences/([^"]+)"', html)
        assert prefs and tokens.read(secret, "preferences", prefs[1]) == ids[reader]
        web = re.search(rf'href="{PUBLIC}/copy/([^"]+)"', html)
        assert web is not None
        stem = tokens.read_copy(secret, web[1])  # their copy: unlisted, behind a signed link
        archived = (tmp_path / "archive" / "readers" / f"{stem}.html").read_text()
        assert "/unsubscribe/" not in archived and "/preferences/" not in archived


class Refusing(Handler):
    """Refuses one address for good (550), like a mailbox that no longer exists."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_three_permanent_refusals_in_a_row_make_a_reader_bouncing(
    tmp_path: Path, seeds: SeedWriter
) -> None:
    handler = Refusing("gone@example.org")
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        plain = {
            "DIGEST_SMTP_HOST": "127.0.0.1",
            "DIGEST_SMTP_PORT": str(controller.port),
            "DIGEST_SMTP_SECURITY": "none",
            "DIGEST_PUBLIC_URL": PUBLIC,
            "DIGEST_SETTLE_SECONDS": "0",
            "DIGEST_WORKERS": "1",
        }
        for email in ("ann@example.org", "gone@example.org"):
            assert run_cli("subscribers", "add", email, env=plain).code == 0
        outcomes = []
        for key in ("council", "rocket", "vote", "cup"):
            write_article(seeds, key, *ARTICLES[key])
            outcomes.append(run_cli("run", env=plain))
        assert [r.code for r in outcomes] == [1, 1, 1, 0]  # the 4th is not tried
        assert "gone@example.org is now bouncing" in outcomes[2].err
        assert [len(m.rcpt_tos) for m in handler.messages] == [1, 1, 1, 1]
        status = run_cli("status", env=plain)
        assert "1 bouncing" in status.out and "gone@example.org" in status.out
        assert run_cli("subscribers", "resume", "gone@example.org", env=plain).code == 0
        listed = run_cli("subscribers", "list", env=plain).out
        assert "gone@example.org\t-\tactive" in listed
        handler.refused = ""
        write_article(
            seeds,
            "extra",
            "Museum reopens its doors",
            "Culture",
            "The museum reopened after a renovation of three years with a new wing for maps."
            " Visitors queued along the river to see the restored ceiling paintings.",
        )
        assert run_cli("run", env=plain).code == 0
        assert sorted(m.rcpt_tos[0] for m in handler.messages[-2:]) == [
            "ann@example.org",
            "gone@example.org",
        ]
    finally:
        controller.stop()


class StallAt(Handler):
    """Stalls before answering RCPT for one address, so a test can kill the client there."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address: str | None = address
        self.reached = threading.Event()
        self.release = asyncio.Event()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == self.address:
            self.reached.set()
            await self.release.wait()
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def stalling() -> Iterator[tuple[Controller, StallAt]]:
    handler = StallAt("reader07@example.org")
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    handler.address = None
    controller.loop.call_soon_threadsafe(handler.release.set)
    controller.stop()


def test_sigkill_mid_run_resends_to_nobody_who_had_it(
    tmp_path: Path, seeds: SeedWriter, stalling: tuple[Controller, StallAt]
) -> None:
    controller, handler = stalling
    plain = {
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(controller.port),
        "DIGEST_SMTP_SECURITY": "none",
        "DIGEST_SMTP_TIMEOUT": "5",
        "DIGEST_SMTP_CONNECTIONS": "1",  # nothing else in flight when the kill lands
        "DIGEST_PUBLIC_URL": PUBLIC,
        "DIGEST_SETTLE_SECONDS": "0",
        "DIGEST_WORKERS": "1",
    }
    readers = [f"reader{i:02d}@example.org" for i in range(12)]
    csv = "email,sections\n" + "".join(
        f"{r},{'World' if i % 2 else ''}\n" for i, r in enumerate(readers)
    )
    (tmp_path / "readers.csv").write_text(csv)
    assert run_cli("subscribers", "import", "readers.csv", env=plain).code == 0
    write_article(seeds, "vote", *ARTICLES["vote"])
    write_article(seeds, "cup", *ARTICLES["cup"])
    full = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")} | plain
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest", "run"],
        env=full,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert handler.reached.wait(60), "the run never reached reader07"
    had = [m.rcpt_tos[0] for m in handler.messages]
    assert had  # some readers were served before the kill
    # their acceptances are committed while the run waits on reader07 (by the recording
    # thread, a moment after each answer): the kill lands once they are
    assert _accepted_soon(tmp_path / ".digest", len(had)), "acceptances were never recorded"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    handler.address = None
    controller.loop.call_soon_threadsafe(handler.release.set)
    time.sleep(0.2)
    again = run_cli("run", env=plain)
    assert again.code == 0, again.err
    counts = {r: 0 for r in readers}
    for m in handler.messages:
        counts[m.rcpt_tos[0]] += 1
    assert counts == dict.fromkeys(readers, 1)


def _accepted_soon(state_dir: Path, count: int, seconds: float = 10.0) -> bool:
    """True once `count` deliveries are recorded as accepted (read-only, as `status` reads)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db = sqlite3.connect(f"file:{state_dir / 'state.sqlite3'}?mode=ro", uri=True)
        try:
            (found,) = db.execute(
                "SELECT count(*) FROM deliveries WHERE status = 'accepted'"
            ).fetchone()
        finally:
            db.close()
        if found >= count:
            return True
        time.sleep(0.02)
    return False


def test_csv_import_reports_each_bad_row_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "readers.csv").write_text(
        "email,name,every,day,at,timezone,sections\n"
        "ann@example.org,Ann,weekly,fri,08:00,Europe/Paris,World\n"
        "not-an-address,Bob,,,,,\n"
        "cat@example.org,Cat,,,25:00,,\n"
        "dan@example.org,Dan,,,,Mars/Olympus,\n"
        "ann@example.org,Ann twice,,,,,\n"
        "eve@example.org,Eve,,,,,Sprots\n"
    )
    result = run_cli("subscribers", "import", "readers.csv")
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if line.startswith("readers.csv:")]
    assert errors == [
        "readers.csv:3: email='not-an-address': not an email address;"
        " use a form like reader@example.org",
        "readers.csv:4: at='25:00': not a time of day; use HH:MM on a 24-hour clock,"
        " 00:00 to 23:59",
        "readers.csv:5: timezone='Mars/Olympus': unknown time zone;"
        " use an IANA name like Europe/Paris",
        "readers.csv:6: ann@example.org repeats line 2; kept line 2",
    ]
    assert "no article so far had section 'World', 'Sprots'" in result.err
    assert "imported 2 subscriber(s), skipped 4 row(s)" in result.out
    again = run_cli("subscribers", "import", "readers.csv")
    assert "readers.csv:2: ann@example.org is already a subscriber; row skipped" in again.err
    exported = run_cli("subscribers", "export")
    assert exported.out.splitlines() == [
        "email,name,every,day,at,timezone,sections,include,exclude,max,status,"
        "consent_at,consent_client,consent_agent,consent_form",
        "ann@example.org,Ann,weekly,fri,08:00,Europe/Paris,World,,,,active,,,,",
        "eve@example.org,Eve,daily,,,,Sprots,,,,active,,,,",
    ]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--at", "25:00"), "digest: error: --at '25:00': not a time of day;"),
        (("--timezone", "Mars/Olympus"), "digest: error: --timezone 'Mars/Olympus': unknown"),
        (("--every", "hourly"), "digest: error: --every 'hourly': unknown every;"),
        (("--max", "-3"), "digest: error: --max '-3': at least one full article is needed;"),
    ],
)
def test_bad_option_is_one_line_naming_it(tmp_path: Path, args: tuple[str, ...], line: str) -> None:
    result = run_cli("subscribers", "add", "ann@example.org", *args)
    assert result.code == 2
    assert result.err.startswith(line) and result.err.count("\n") == 1


def test_bad_address_and_duplicate_are_one_line(tmp_path: Path) -> None:
    bad = run_cli("subscribers", "add", "ann-at-example.org")
    assert (bad.code, bad.err.strip()) == (
        2,
        "digest: error: EMAIL 'ann-at-example.org': not an email address;"
        " use a form like reader@example.org",
    )
    assert run_cli("subscribers", "add", "ann@example.org").code == 0
    twice = run_cli("subscribers", "add", "ANN@example.org")
    assert twice.code == 2 and "already a subscriber" in twice.err


def test_public_url_must_be_https(tmp_path: Path) -> None:
    result = run_cli("status", env={"DIGEST_PUBLIC_URL": "http://news.example.org"})
    assert result.code == 2 and "DIGEST_PUBLIC_URL='http://news.example.org'" in result.err


def test_without_subscribers_digest_to_is_used_as_before(
    tmp_path: Path, seeds: SeedWriter, smtp_server: SmtpServer
) -> None:
    write_article(seeds, "vote", *ARTICLES["vote"])
    result = run_cli("run", env=env(smtp_server, DIGEST_TO="a@example.org,b@example.org"))
    assert result.code == 0, result.err
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == ["a@example.org", "b@example.org"]
    assert all("/unsubscribe/" not in m.content.decode() for m in smtp_server.messages)
