"""Readers' editions in process: grouping, watermarks, per-reader bytes, the shared connection.

`run_once` runs here, in the test's process, against a real aiosmtpd server (STARTTLS and
AUTH, from conftest) or a plain one, and a real SQLite state database; nothing of digest is
replaced. test_fanout.py drives the same paths through the CLI in child processes (slow).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session
from conftest import Handler, Received, SeedWriter, SmtpServer, StartServer, free_port

from digest.readers import tokens
from digest.records import Preferences, Reporter
from digest.runs.run import RunResult, run_once
from digest.settings import Settings, load_settings
from digest.store import Store

PUBLIC = "https://news.example.org"
ARTICLES = {  # key -> (title, section, body): four different stories
    "council": (
        "Council passes the city budget",
        "Local",
        "The city council approved next year's budget after a debate that ran past midnight."
        " Libraries and parks get more money, while the repair of side streets must wait."
        " Opposition members warned that property taxes will go up in the spring.",
    ),
    "rocket": (
        "Rocket launch delayed by wind",
        "Science",
        "Engineers stopped the countdown when gusts along the coast grew too strong at dawn."
        " The satellite on board is meant to measure sea ice over the next ten years."
        " Another attempt is planned for Friday if the weather over the pad improves.",
    ),
    "vote": (
        "Election results are in",
        "World",
        "Voters elected a new parliament in a tight race that was decided only at midnight."
        " Turnout in the northern provinces was the highest in two decades."
        " The three largest parties will start coalition talks next week.",
    ),
    "cup": (
        "Football cup final tonight",
        "Sport",
        "The two finalists of the football cup meet at the national stadium this evening."
        " Every ticket was gone within minutes and supporters filled the squares by noon."
        " The visiting coach said his injured striker might still be fit to play.",
    ),
}


def write(seeds: SeedWriter, key: str, extra: str = "") -> None:
    title, section, body = ARTICLES[key]
    text = body + extra
    seeds(f"{key}{len(extra)}.json", json.dumps({"title": title, "text": text, "section": section}))


def settings_for(env: dict[str, str]) -> Settings:
    base = {
        "DIGEST_PUBLIC_URL": PUBLIC,
        "DIGEST_SETTLE_SECONDS": "0",
        "DIGEST_WORKERS": "1",
        "DIGEST_FROM": "news@example.org",
        "DIGEST_SMTP_BACKOFF": "0",
        "DIGEST_SMTP_CONNECTIONS": "1",
    }
    return load_settings(base | env, None)


def subscribe(settings: Settings, email: str, prefs: Preferences | None = None) -> int:
    with Store.open(settings.state_dir) as store:
        found = store.add_subscriber(email, None, prefs or Preferences(), datetime.now(UTC))
    assert found is not None
    return found


def run(settings: Settings) -> RunResult:
    said: list[str] = []
    result = run_once(settings, reporter=Reporter(said.append))
    assert result.exit_code == 0, (result.errors, result.refused, said)
    return result


def parse(data: bytes) -> EmailMessage:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def plain_text(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return " ".join(body.get_content().split())


def keys_by_reader(messages: Sequence[Received]) -> dict[str, list[set[str]]]:
    """reader -> the article keys of each message they got, in order; each To is theirs."""
    got: dict[str, list[set[str]]] = {}
    for m in messages:
        (reader,) = m.rcpt_tos
        msg = parse(m.content)
        assert msg["To"] == reader
        text = plain_text(msg)
        got.setdefault(reader, []).append({k for k, (t, _, _) in ARTICLES.items() if t in text})
    return got


def state(settings: Settings) -> tuple[dict[str, int], int, int]:
    """(reader -> watermark, the last arrival's seq, how many digests were queued)."""
    with Store.open(settings.state_dir, readonly=True) as store:
        marks = store.watermarks()
        by_email = {s.email: marks[s.id][0] for s in store.subscribers()}
        arrivals = store.arrivals_after(0)
        digests = len(store.recent_digests(1000))
    return by_email, (arrivals[-1].seq if arrivals else 0), digests


def test_each_reader_gets_their_articles_once_and_the_watermarks_move(
    tmp_path: Path, seeds: SeedWriter, smtp_server: SmtpServer
) -> None:
    settings = settings_for(smtp_server.env())
    subscribe(settings, "ann@example.org")
    subscribe(settings, "bob@example.org", Preferences(sections=("science", "WORLD")))
    subscribe(settings, "cat@example.org", Preferences(include=("budget",)))
    subscribe(settings, "dan@example.org", Preferences(exclude=("football",)))
    subscribe(settings, "eve@example.org")
    with Store.open(settings.state_dir) as store:
        eve = store.subscriber_by_email("eve@example.org")
        assert eve is not None
        store.set_status(eve.id, "paused")
    for key in ARTICLES:
        write(seeds, key)

    first = run(settings)
    assert first.status == "sent"
    assert keys_by_reader(smtp_server.messages) == {
        "ann@example.org": [{"council", "rocket", "vote", "cup"}],
        "bob@example.org": [{"rocket", "vote"}],
        "cat@example.org": [{"council"}],
        "dan@example.org": [{"council", "rocket", "vote"}],
    }
    assert all(m.tls and m.login for m in smtp_server.messages)
    marks, top, digests = state(settings)
    assert top == 4 and digests == 4  # four different sets of articles: four editions
    assert {r: w for r, w in marks.items() if r != "eve@example.org"} == dict.fromkeys(
        ("ann@example.org", "bob@example.org", "cat@example.org", "dan@example.org"), 4
    )
    assert marks["eve@example.org"] == 0  # paused: nothing considered for her

    again = run(settings)
    assert again.status == "nothing-new" and len(smtp_server.messages) == 4


def test_readers_with_the_same_articles_share_one_edition_with_their_own_tokens(
    tmp_path: Path, seeds: SeedWriter, smtp_server: SmtpServer
) -> None:
    settings = settings_for(smtp_server.env())
    ids = {e: subscribe(settings, e) for e in ("ann@example.org", "bob@example.org")}
    ids["cat@example.org"] = subscribe(
        settings, "cat@example.org", Preferences(sections=("World",))
    )
    write(seeds, "vote")
    write(seeds, "cup")

    run(settings)
    _, _, digests = state(settings)
    assert digests == 2  # ann and bob share one; cat's has only "vote"
    assert len(list((tmp_path / "outbox").glob("digest-*.eml"))) == 2
    secret = (settings.state_dir / "secret_key").read_text().strip()
    seen_tokens = set()
    for m in smtp_server.messages:
        msg, reader = parse(m.content), m.rcpt_tos[0]
        found = re.match(rf"<{PUBLIC}/unsubscribe/([^>]+)>, <mailto:", msg["List-Unsubscribe"])
        assert found, msg["List-Unsubscribe"]
        assert tokens.read(secret, "unsubscribe", found[1]).id == ids[reader]
        seen_tokens.add(found[1])
        body = msg.get_body(("html",))
        assert body is not None
        prefs = re.search(rf'href="{PUBLIC}/preferences/([^"]+)"', body.get_content())
        assert prefs and tokens.read(secret, "preferences", prefs[1]).id == ids[reader]
    assert len(seen_tokens) == 3
    for page in (tmp_path / "outbox").glob("digest-*.html"):  # the outbox copy is nobody's
        html = page.read_text()
        assert f'href="{PUBLIC}/unsubscribe/"' in html
        assert re.search(r"/(unsubscribe|preferences)/[0-9a-f]{32}", html) is None


def test_a_later_reader_gets_no_backlog_and_who_left_gets_nothing(
    tmp_path: Path, seeds: SeedWriter, smtp_server: SmtpServer
) -> None:
    settings = settings_for(smtp_server.env())
    subscribe(settings, "ann@example.org")
    bob = subscribe(settings, "bob@example.org")
    write(seeds, "vote")
    run(settings)
    subscribe(settings, "cat@example.org")  # joins after "vote" arrived
    with Store.open(settings.state_dir) as store:
        store.unsubscribe(bob, datetime.now(UTC))
    write(seeds, "rocket")

    run(settings)
    assert keys_by_reader(smtp_server.messages) == {
        "ann@example.org": [{"vote"}, {"rocket"}],
        "bob@example.org": [{"vote"}],
        "cat@example.org": [{"rocket"}],
    }
    marks, top, _ = state(settings)
    assert top == 2 and marks["ann@example.org"] == marks["cat@example.org"] == 2
    assert marks["bob@example.org"] == 1  # left before "rocket": never considered for him


def test_a_copy_of_an_earlier_arrival_sends_nothing_but_moves_the_watermark(
    tmp_path: Path, seeds: SeedWriter, smtp_server: SmtpServer
) -> None:
    settings = settings_for(smtp_server.env())
    subscribe(settings, "ann@example.org")
    write(seeds, "vote")
    run(settings)
    write(seeds, "vote", extra=" Filed by a second outlet.")  # another id, the same story

    again = run(settings)
    assert again.status == "nothing-new"
    assert len(smtp_server.messages) == 1
    marks, top, digests = state(settings)
    assert top == 2 and marks["ann@example.org"] == 2 and digests == 1


class Counting(Handler):
    """Counts connections (EHLO); with `per_connection`, answers 421 after that many messages."""

    def __init__(self, per_connection: int | None = None) -> None:
        super().__init__()
        self.per_connection = per_connection
        self.connections = 0
        self.taken: dict[int, int] = {}

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.connections += 1
        return await super().handle_EHLO(server, session, envelope, hostname, responses)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        taken = self.taken.get(id(session), 0)
        if self.per_connection is not None and taken >= self.per_connection:
            return "421 4.7.0 too many messages on one connection"
        self.taken[id(session)] = taken + 1
        envelope.mail_from = address
        return "250 OK"


def plain(port: int) -> dict[str, str]:
    return {
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(port),
        "DIGEST_SMTP_SECURITY": "none",
    }


def six_readers_in_three_groups(settings: Settings, seeds: SeedWriter) -> None:
    for n in range(6):
        sections = ((), ("World",), ("Science",))[n % 3]
        subscribe(settings, f"r{n}@example.org", Preferences(sections=sections))
    write(seeds, "vote")
    write(seeds, "rocket")


def test_every_edition_of_a_run_goes_over_one_connection(
    tmp_path: Path, seeds: SeedWriter, plain_server: StartServer
) -> None:
    handler = Counting()
    settings = settings_for(plain(plain_server(handler)))
    six_readers_in_three_groups(settings, seeds)

    run(settings)
    assert sorted(m.rcpt_tos[0] for m in handler.messages) == [
        f"r{n}@example.org" for n in range(6)
    ]
    assert state(settings)[2] == 3  # three editions
    assert handler.connections == 1


def test_a_hang_up_only_reconnects_and_nobody_gets_two(
    tmp_path: Path, seeds: SeedWriter, plain_server: StartServer
) -> None:
    handler = Counting(per_connection=2)
    settings = settings_for(plain(plain_server(handler)))
    six_readers_in_three_groups(settings, seeds)

    result = run(settings)
    assert result.status == "sent"
    assert sorted(m.rcpt_tos[0] for m in handler.messages) == [
        f"r{n}@example.org" for n in range(6)
    ]
    assert handler.connections == 3  # 2 messages each, then a 421 and a new connection
    again = run(settings)
    assert again.status == "nothing-new" and len(handler.messages) == 6


def test_a_queued_edition_skips_who_unsubscribed_while_it_waited(
    tmp_path: Path, seeds: SeedWriter, smtp_server: SmtpServer
) -> None:
    subscribe(settings_for(smtp_server.env()), "ann@example.org")
    bob = subscribe(settings_for(smtp_server.env()), "bob@example.org")
    write(seeds, "vote")
    down = settings_for(plain(free_port()) | {"DIGEST_SMTP_ATTEMPTS": "1"})
    stuck = run_once(down, reporter=Reporter(lambda _: None))
    assert (stuck.status, stuck.exit_code) == ("queued", 1)  # nobody listens on that port
    with Store.open(down.state_dir) as store:
        store.unsubscribe(bob, datetime.now(UTC))

    later = run(settings_for(smtp_server.env()))
    assert later.accepted == ["ann@example.org"]
    assert [m.rcpt_tos for m in smtp_server.messages] == [["ann@example.org"]]
    with Store.open(down.state_dir) as store:
        assert store.queued() == []  # bob's copy is settled (dropped), not left pending


def test_state_grows_with_readers_plus_articles(tmp_path: Path, seeds: SeedWriter) -> None:
    settings = settings_for({})  # no SMTP host: the outbox is the delivery
    for n in range(30):
        subscribe(
            settings,
            f"r{n}@example.org",
            Preferences(sections=(("World",), ("Science",), ())[n % 3]),
        )
    for batch in (("vote", "rocket"), ("council", "cup")):
        for key in batch:
            write(seeds, key)
        run(settings)
    conn = sqlite3.connect(settings.state_dir / "state.sqlite3")
    count = {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    conn.close()
    # run 1: World, Science, everything; run 2: everything (no Local or Sport readers else)
    assert count["digests"] == 4
    assert count["subscribers"] == 30 and count["arrivals"] == 4
    assert count["deliveries"] == 30 + 10  # one row per reader and message, not per article
    assert max(n for t, n in count.items() if t != "deliveries") <= 30
